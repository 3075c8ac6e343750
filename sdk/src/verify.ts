/**
 * Recomputing a job's committee: the seed from the Job account, the draws
 * from the program's own WorkersAssigned / WorkerReassigned events in the
 * job's transactions, the eligible sets from the relay (checked against
 * the hashes those events name), and the draw itself by the protocol's
 * `selection::select` in the wasm, the code the scheduler runs.
 */
import { address, getAddressDecoder, getBase64Encoder, type Signature } from "@solana/kit";
import { jobAddress, readJob, rpcOf, type Rpc } from "./chain.js";
import { ChainError } from "./errors.js";
import { committeeEvent, type CommitteeEvent, fromHex, loadProtocol, selectDraws } from "./protocol.js";
import { base, check, getJson, type RelayInfo, request } from "./relay.js";

export interface VerifyOptions {
  relay: string | URL;
  rpc: string | URL | Rpc;
  programId?: string;
  signal?: AbortSignal;
}

/** One draw of the committee as the program recorded it and as recomputed here. */
export interface Draw {
  kind: "committee" | "replacement";
  slot: bigint;
  signature: string;
  snapshotHash: string;
  firstDraw: number;
  /** The workers the program seated (base58). */
  recorded: string[];
  /** The workers the seed and the snapshot draw, or why they could not be drawn. */
  recomputed: string[] | { failure: string };
  candidates: number;
  matches: boolean;
}

export interface CommitteeCheck {
  jobId: string;
  seed: string;
  draws: Draw[];
  /** Every draw recomputed to the seated workers (and there was one). */
  verified: boolean;
}

/** The events `program` itself logged (`Program data:` while it is the innermost program running). */
export function programData(logs: readonly string[], program: string): Uint8Array[] {
  const stack: string[] = [];
  const out: Uint8Array[] = [];
  for (const line of logs) {
    const invoke = /^Program (\S+) invoke \[\d+\]$/.exec(line);
    if (invoke) {
      stack.push(invoke[1]!);
      continue;
    }
    const top = stack.at(-1);
    if (top && (line === `Program ${top} success` || line.startsWith(`Program ${top} failed`))) {
      stack.pop();
      continue;
    }
    if (line.startsWith("Program data: ") && top === program) {
      try {
        out.push(new Uint8Array(getBase64Encoder().encode(line.slice("Program data: ".length).trim())));
      } catch {}
    }
  }
  return out;
}

/**
 * Recomputes every draw of `jobId`'s committee and compares it with the
 * workers the program seated. A mismatch is reported, not thrown: the
 * answer is the evidence.
 */
export async function verifyCommittee(jobId: string, o: VerifyOptions): Promise<CommitteeCheck> {
  await loadProtocol();
  const relay = base(o.relay);
  const rpc = rpcOf(o.rpc);
  const program = address(o.programId ?? (await getJson<RelayInfo>(`${relay}/v1/info`, { signal: o.signal })).program_id);
  const job = await readJob(rpc, program, jobId);
  if (!job.seedSet) throw new ChainError(`job ${jobId} has no seed yet: nothing was drawn`);
  const pda = await jobAddress(program, jobId);
  // Every successful transaction that touched the Job, oldest first.
  const sigs: { signature: Signature; slot: bigint; err: unknown }[] = [];
  for (;;) {
    const before = sigs.at(-1)?.signature;
    const page = await rpc.getSignaturesForAddress(pda, { commitment: "confirmed", limit: 1000, ...(before ? { before } : {}) }).send();
    sigs.push(...page);
    if (page.length < 1000) break;
  }
  const b58 = getAddressDecoder();
  const name = (w: Uint8Array) => b58.decode(w) as string;
  const draws: Draw[] = [];
  let next = 0;
  for (const s of sigs.reverse().filter((s) => s.err === null)) {
    const tx = await rpc
      .getTransaction(s.signature, { encoding: "json", commitment: "confirmed", maxSupportedTransactionVersion: 0 })
      .send();
    const events = programData(tx?.meta?.logMessages ?? [], program)
      .map(committeeEvent)
      .filter((e): e is CommitteeEvent => !!e && e.jobId === jobId);
    const planned: Omit<Draw, "recomputed" | "candidates" | "matches">[] = [];
    const assigned = events.find((e) => e.kind === "assigned");
    if (assigned?.kind === "assigned") {
      planned.push({ kind: "committee", slot: s.slot, signature: s.signature, snapshotHash: assigned.snapshotHash, firstDraw: next, recorded: assigned.workers.map(name) });
      next += assigned.workers.length;
    }
    const replaced = events.filter((e) => e.kind === "reassigned");
    if (replaced.length) {
      const recorded = replaced.map((e) => (e.kind === "reassigned" ? name(e.newWorker) : ""));
      planned.push({ kind: "replacement", slot: s.slot, signature: s.signature, snapshotHash: replaced[0]!.snapshotHash, firstDraw: next, recorded });
      next += recorded.length;
    }
    for (const p of planned) {
      let recomputed: Draw["recomputed"];
      let candidates = 0;
      try {
        const res = await check(await request(`${relay}/v1/selections/${p.snapshotHash}`, { signal: o.signal }));
        const snapshot = new Uint8Array(await res.arrayBuffer());
        const r = selectDraws(fromHex(job.seed), fromHex(jobId), snapshot, fromHex(p.snapshotHash), p.firstDraw, p.recorded.length);
        if ("failure" in r) recomputed = { failure: r.failure };
        else {
          candidates = r.candidates;
          recomputed = r.workers.map(name);
        }
      } catch (e) {
        recomputed = { failure: `the snapshot could not be fetched: ${(e as Error).message}` };
      }
      const matches = Array.isArray(recomputed) && recomputed.join() === p.recorded.join();
      draws.push({ ...p, recomputed, candidates, matches });
    }
  }
  return { jobId, seed: job.seed, draws, verified: draws.length > 0 && draws.every((d) => d.matches) };
}
