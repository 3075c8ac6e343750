/** One relay and RPC, bound once: `createClient({relay, rpc}).postJob({...})`. */
import type { Rpc } from "./chain.js";
import { estimate, type Estimate, type EstimateOptions } from "./estimate.js";
import { followJob, waitForJob } from "./follow.js";
import { getOutput } from "./output.js";
import { cancelJob } from "./cancel.js";
import { verifyCommittee, type CommitteeCheck } from "./verify.js";
import type { TransactionPartialSigner } from "@solana/kit";
import { type JobSigner, postJob, type PostedJob, type PostJobOptions } from "./post.js";
import type { JobView } from "./relay.js";

export interface ClientConfig {
  relay: string | URL;
  rpc: string | URL | Rpc;
  /** The default payer of postJob (a kit signer) … */
  signer?: JobSigner;
  /** … or the relay's API key. */
  apiKey?: string;
  /** Pin the program instead of taking the relay's `/v1/info` word for it. */
  programId?: string;
}

type Bound<T> = Omit<T, "relay" | "rpc" | "programId"> & { signal?: AbortSignal };

export interface Client {
  postJob(o: Bound<PostJobOptions>): Promise<PostedJob>;
  followJob(jobId: string, o?: { signal?: AbortSignal }): AsyncGenerator<JobView>;
  waitForJob(jobId: string, o?: { timeoutMs?: number; signal?: AbortSignal }): Promise<JobView>;
  getOutput(jobId: string, o?: { signal?: AbortSignal }): Promise<Uint8Array>;
  estimate(o: Bound<EstimateOptions>): Promise<Estimate>;
  verifyCommittee(jobId: string, o?: { signal?: AbortSignal }): Promise<CommitteeCheck>;
  cancelJob(jobId: string, signer: TransactionPartialSigner, o?: { signal?: AbortSignal }): Promise<string>;
}

export function createClient(c: ClientConfig): Client {
  const at = { relay: c.relay, rpc: c.rpc, programId: c.programId };
  return {
    postJob: (o) =>
      postJob({
        ...at,
        ...(o.signer || o.apiKey ? {} : c.signer ? { signer: c.signer } : { apiKey: c.apiKey }),
        ...o,
      }),
    followJob: (jobId, o) => followJob(jobId, { relay: c.relay, ...o }),
    waitForJob: (jobId, o) => waitForJob(jobId, { relay: c.relay, ...o }),
    getOutput: (jobId, o) => getOutput(jobId, { ...at, ...o }),
    estimate: (o) => estimate({ relay: c.relay, rpc: c.rpc, ...o }),
    verifyCommittee: (jobId, o) => verifyCommittee(jobId, { ...at, ...o }),
    cancelJob: (jobId, signer, o) => cancelJob(jobId, signer, { ...at, ...o }),
  };
}
