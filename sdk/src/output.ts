/** Getting a job's output, verified against the chain. */
import { address } from "@solana/kit";
import { readJob, rpcOf, type Rpc } from "./chain.js";
import { NoOutputError, OutputMismatchError } from "./errors.js";
import { blake3, loadProtocol, toHex } from "./protocol.js";
import { base, check, getJson, type JobView, type RelayInfo, request } from "./relay.js";

export interface OutputOptions {
  relay: string | URL;
  rpc: string | URL | Rpc;
  /** Pin the program instead of taking the relay's `/v1/info` word for it. */
  programId?: string;
  signal?: AbortSignal;
}

/** Statuses in which the Job holds a revealed winning hash. */
const REVEALED = new Set([3, 4, 5]);

/**
 * The job's output bytes, fetched from the relay and accepted only if
 * their BLAKE3 (the protocol's, from the wasm) is the winning output hash
 * in the Job account read from the chain (its address checked to be the
 * job's PDA of the program). Throws {@link OutputMismatchError} on other
 * bytes, {@link NoOutputError} before a reveal.
 */
export async function getOutput(jobId: string, o: OutputOptions): Promise<Uint8Array> {
  await loadProtocol();
  const relay = base(o.relay);
  const program = address(o.programId ?? (await getJson<RelayInfo>(`${relay}/v1/info`, { signal: o.signal })).program_id);
  const view = await getJson<JobView>(`${relay}/v1/jobs/${jobId}`, { signal: o.signal });
  const job = await readJob(rpcOf(o.rpc), program, jobId, view.address);
  if (!REVEALED.has(job.status)) throw new NoOutputError(jobId, job.statusName);
  const expected = job.winningOutputHash;
  const res = await check(await request(`${relay}/v1/outputs/${expected}`, { signal: o.signal }));
  const bytes = new Uint8Array(await res.arrayBuffer());
  const actual = toHex(blake3(bytes));
  if (actual !== expected) throw new OutputMismatchError(jobId, expected, actual);
  return bytes;
}
