/** What the SDK reads from the chain itself, so it need not take the relay's word. */
import {
  type Address,
  address,
  createSolanaRpc,
  getAddressEncoder,
  getBase64Encoder,
  getProgramDerivedAddress,
  type Signature,
} from "@solana/kit";
import { ChainError, TimeoutError } from "./errors.js";
import { decodeJob, fromHex, type JobAccount } from "./protocol.js";

export type Rpc = ReturnType<typeof createSolanaRpc>;

export function rpcOf(rpc: string | URL | Rpc): Rpc {
  return typeof rpc === "string" || rpc instanceof URL ? createSolanaRpc(String(rpc)) : rpc;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `["job", job_id]` PDA of `program`. */
export async function jobAddress(program: Address, jobId: string): Promise<Address> {
  const [pda] = await getProgramDerivedAddress({ programAddress: program, seeds: ["job", fromHex(jobId)] });
  return pda;
}

/**
 * The Job account of `jobId`, read at `confirmed`, checked to be the
 * program's PDA for that job, owned by the program, and to hold that job.
 */
export async function readJob(rpc: Rpc, program: Address, jobId: string, claimed?: string): Promise<JobAccount> {
  const pda = await jobAddress(program, jobId);
  if (claimed !== undefined && claimed !== pda) {
    throw new ChainError(`the relay names ${claimed} as job ${jobId}'s account, but its address is ${pda}; do not trust this relay`);
  }
  const { value } = await rpc.getAccountInfo(pda, { encoding: "base64", commitment: "confirmed" }).send();
  if (!value) throw new ChainError(`job ${jobId} has no account (${pda}) on this chain`);
  if (value.owner !== program) {
    throw new ChainError(`the account ${pda} belongs to ${value.owner}, not to the edgerun program ${program}`);
  }
  const data = getBase64Encoder().encode(value.data[0]) as Uint8Array;
  const job = decodeJob(data);
  if (!job) throw new ChainError(`the account ${pda} is not a Job`);
  if (job.jobId !== jobId) throw new ChainError(`the account ${pda} holds job ${job.jobId}, not ${jobId}`);
  return job;
}

/** Waits until `signature` is confirmed; throws if the transaction failed. */
export async function confirm(rpc: Rpc, signature: Signature, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const s = value[0];
    if (s?.err) throw new ChainError(`transaction ${signature} failed: ${JSON.stringify(s.err, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    if (s && (s.confirmationStatus === "confirmed" || s.confirmationStatus === "finalized")) return;
    if (Date.now() > end) throw new TimeoutError(`transaction ${signature} confirmed`, timeoutMs);
    await sleep(400);
  }
}

export const addressBytes = (a: string) => getAddressEncoder().encode(address(a)) as Uint8Array;
