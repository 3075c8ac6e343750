/**
 * edgerun-protocol, compiled to wasm (sdk/wasm), behind typed functions.
 * Every hash and figure here is the protocol crate's own computation: the
 * SDK re-implements none of it in JavaScript.
 */
import { PROTOCOL_WASM_BASE64 } from "./wasm-bytes.generated.js";

interface Exports {
  memory: WebAssembly.Memory;
  sdk_alloc(len: number): number;
  sdk_free(ptr: number, len: number): void;
  blake3(ptr: number, len: number, out: number): void;
  job_id(client: number, nonce: bigint, bundleHash: number, out: number): void;
  tier_for_escrow(escrow: bigint): number;
  tier_min_escrow(tier: number): bigint;
  tier_default_escrow(tier: number): bigint;
  tier_size(tier: number): number;
  tier_quorum(tier: number): number;
  split_payout(escrow: bigint, bps: number, minFee: bigint, winners: number, out: number): number;
  records_deposit(resultRent: bigint, outputRent: bigint, size: number): bigint;
  required_lock(minStake: bigint, escrow: bigint, size: number): bigint;
  account_space(kind: number): number;
  job_fields_len(): number;
  job_fields(ptr: number, len: number, out: number): number;
  ix_index(ptr: number, len: number): number;
  ix_post_job(): number;
  ix_accounts(index: number): number;
  post_job_fields_len(): number;
  post_job_fields(ptr: number, len: number, out: number): number;
  ix_cancel_job(): number;
  ix_discriminator(index: number, out: number): number;
  committee_event_len(): number;
  committee_event(ptr: number, len: number, out: number): number;
  select_draws(seed: number, jobId: number, snap: number, len: number, expected: number, first: number, count: number, out: number): number;
}

const U64_MAX = (1n << 64n) - 1n;
/** A wasm i64 arrives as a signed BigInt: read it as the u64 it is. */
const u64 = (v: bigint) => BigInt.asUintN(64, v);

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let instance: Exports | undefined;
let loading: Promise<void> | undefined;

/**
 * Compiles the protocol module once (asynchronously: a browser's main
 * thread refuses to compile a module this size synchronously). Every SDK
 * call awaits it; call it yourself before using this module's functions
 * directly.
 */
export function loadProtocol(): Promise<void> {
  loading ??= WebAssembly.instantiate(decodeBase64(PROTOCOL_WASM_BASE64), {}).then((r) => {
    instance = r.instance.exports as unknown as Exports;
  });
  return loading;
}

function wasm(): Exports {
  if (!instance) throw new Error("the protocol module is not loaded: await loadProtocol() first");
  return instance;
}

/** Runs `f` with `inputs` copied into the module and `outLen` bytes for its answer. */
function withBytes<T>(inputs: Uint8Array[], outLen: number, f: (ptrs: number[], out: number) => T): [T, Uint8Array] {
  const w = wasm();
  const ptrs = inputs.map((b) => {
    const p = w.sdk_alloc(b.length);
    new Uint8Array(w.memory.buffer, p, b.length).set(b);
    return p;
  });
  const out = w.sdk_alloc(Math.max(outLen, 8));
  try {
    const r = f(ptrs, out);
    return [r, new Uint8Array(w.memory.buffer, out, outLen).slice()];
  } finally {
    inputs.forEach((b, i) => w.sdk_free(ptrs[i]!, b.length));
    w.sdk_free(out, Math.max(outLen, 8));
  }
}

/** Lowercase hex: a hash's one written form. */
export function toHex(bytes: Iterable<number>): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** 32 bytes from 64 lowercase hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError(`${JSON.stringify(hex)} is not 64 lowercase hex characters`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** BLAKE3-256 (the protocol's hash of bundles and outputs). */
export function blake3(data: Uint8Array): Uint8Array {
  return withBytes([data], 32, ([p], out) => wasm().blake3(p!, data.length, out))[1];
}

/** `job_id = blake3(client || nonce_le || bundle_hash)`. */
export function jobId(client: Uint8Array, nonce: bigint, bundleHash: Uint8Array): Uint8Array {
  return withBytes([client, bundleHash], 32, ([c, b], out) => wasm().job_id(c!, nonce, b!, out))[1];
}

export type TierName = "bronze" | "silver" | "gold" | "gold+";
export const TIERS: readonly TierName[] = ["bronze", "silver", "gold", "gold+"];

export interface TierRules {
  name: TierName;
  index: number;
  minEscrowLamports: bigint;
  defaultEscrowLamports: bigint;
  committeeSize: number;
  quorum: number;
}

export function tierRules(tier: TierName): TierRules {
  const index = TIERS.indexOf(tier);
  if (index < 0) throw new TypeError(`unknown tier ${JSON.stringify(tier)}; the tiers are ${TIERS.join(", ")}`);
  const w = wasm();
  return {
    name: tier,
    index,
    minEscrowLamports: u64(w.tier_min_escrow(index)),
    defaultEscrowLamports: u64(w.tier_default_escrow(index)),
    committeeSize: w.tier_size(index),
    quorum: w.tier_quorum(index),
  };
}

/** The tier an escrow buys. */
export function tierForEscrow(escrow: bigint): TierName {
  return TIERS[wasm().tier_for_escrow(escrow)]!;
}

export interface Payout {
  /** The protocol fee, to the treasury. */
  fee: bigint;
  /** What each winner's stake is credited. */
  perWinner: bigint;
  /** The division remainder, to the treasury. */
  remainder: bigint;
}

/** `economics::split_payout_with_minimum`; `undefined` where the protocol refuses. */
export function splitPayout(escrow: bigint, feeBps: number, minJobFee: bigint, winners: number): Payout | undefined {
  const [ok, out] = withBytes([], 24, (_, o) => wasm().split_payout(escrow, feeBps, minJobFee, winners, o));
  if (ok !== 0) return undefined;
  const v = new DataView(out.buffer);
  return { fee: v.getBigUint64(0, true), perWinner: v.getBigUint64(8, true), remainder: v.getBigUint64(16, true) };
}

/** `economics::records_deposit`; `undefined` on overflow. */
export function recordsDeposit(resultRent: bigint, outputRent: bigint, committeeSize: number): bigint | undefined {
  const r = u64(wasm().records_deposit(resultRent, outputRent, committeeSize));
  return r === U64_MAX ? undefined : r;
}

/** `economics::required_lock`. */
export function requiredLock(minWorkerStake: bigint, escrow: bigint, committeeSize: number): bigint {
  return u64(wasm().required_lock(minWorkerStake, escrow, committeeSize));
}

/** Account sizes the chain charges rent on. */
export const accountSpace = {
  job: () => wasm().account_space(0),
  jobResult: () => wasm().account_space(1),
  outputAvailability: () => wasm().account_space(2),
  config: () => wasm().account_space(3),
};

export const JOB_STATUS = ["Posted", "Seeded", "Assigned", "QuorumReached", "AwaitingDA", "Finalized", "Cancelled", "Slashed"] as const;

/** What the SDK reads from a Job account (decoded by the protocol's layout). */
export interface JobAccount {
  jobId: string;
  client: Uint8Array;
  bundleHash: string;
  /** All zeros until a quorum reveals it. */
  winningOutputHash: string;
  status: number;
  statusName: string;
  committeeSize: number;
  quorum: number;
  assignedCount: number;
  draws: number;
  escrowLamports: bigint;
  priorityFeeLamports: bigint;
  quorumReachedSlot: bigint;
  daDeadlineSlot: bigint;
  /** The committee's randomness, once set. */
  seed: string;
  seedSet: boolean;
}

/** A Job account's data, or `undefined` if the bytes are not a Job. */
export function decodeJob(data: Uint8Array): JobAccount | undefined {
  const len = wasm().job_fields_len();
  const [ok, o] = withBytes([data], len, ([p], out) => wasm().job_fields(p!, data.length, out));
  if (ok !== 0) return undefined;
  const v = new DataView(o.buffer);
  const status = o[128]!;
  return {
    jobId: toHex(o.subarray(0, 32)),
    client: o.slice(32, 64),
    bundleHash: toHex(o.subarray(64, 96)),
    winningOutputHash: toHex(o.subarray(96, 128)),
    status,
    statusName: JOB_STATUS[status] ?? "Unknown",
    committeeSize: o[129]!,
    quorum: o[130]!,
    assignedCount: o[131]!,
    draws: o[132]!,
    escrowLamports: v.getBigUint64(136, true),
    priorityFeeLamports: v.getBigUint64(144, true),
    quorumReachedSlot: v.getBigUint64(152, true),
    daDeadlineSlot: v.getBigUint64(160, true),
    seed: toHex(o.subarray(168, 200)),
    seedSet: o[200] === 1,
  };
}

/** post_job's arguments as the program reads them. */
export interface PostJobArgs {
  jobId: string;
  bundleHash: string;
  runtimeId: string;
  escrowLamports: bigint;
  ttlSlots: bigint;
  nonce: bigint;
  priorityFeeLamports: bigint;
}

/** Is `data` an edgerun post_job instruction's data? */
export function isPostJob(data: Uint8Array): boolean {
  const [ix] = withBytes([data], 0, ([p]) => wasm().ix_index(p!, data.length));
  return ix >= 0 && ix === wasm().ix_post_job();
}

/** The number of accounts post_job takes. */
export function postJobAccounts(): number {
  return wasm().ix_accounts(wasm().ix_post_job());
}

/** post_job's arguments from instruction data, or `undefined` if it is not one. */
export function decodePostJob(data: Uint8Array): PostJobArgs | undefined {
  const len = wasm().post_job_fields_len();
  const [ok, o] = withBytes([data], len, ([p], out) => wasm().post_job_fields(p!, data.length, out));
  if (ok !== 0) return undefined;
  const v = new DataView(o.buffer);
  return {
    jobId: toHex(o.subarray(0, 32)),
    bundleHash: toHex(o.subarray(32, 64)),
    runtimeId: toHex(o.subarray(64, 96)),
    escrowLamports: v.getBigUint64(96, true),
    ttlSlots: v.getBigUint64(104, true),
    nonce: v.getBigUint64(112, true),
    priorityFeeLamports: v.getBigUint64(120, true),
  };
}

/** cancel_job's instruction data (it has no arguments: the discriminator). */
export function cancelJobData(): Uint8Array {
  const [ok, out] = withBytes([], 8, (_, o) => wasm().ix_discriminator(wasm().ix_cancel_job(), o));
  if (ok !== 0) throw new Error("the protocol has no cancel_job");
  return out;
}

/** An event that seated workers, decoded from a `Program data:` buffer. */
export type CommitteeEvent =
  | { kind: "assigned"; jobId: string; snapshotHash: string; workers: Uint8Array[] }
  | { kind: "reassigned"; jobId: string; snapshotHash: string; newWorker: Uint8Array; oldWorker: Uint8Array };

/** WorkersAssigned / WorkerReassigned from log data; `null` for another edgerun event, `undefined` for bytes that are none. */
export function committeeEvent(data: Uint8Array): CommitteeEvent | null | undefined {
  const len = wasm().committee_event_len();
  const [kind, o] = withBytes([data], len, ([p], out) => wasm().committee_event(p!, data.length, out));
  if (kind < 0) return undefined;
  if (kind === 0) return null;
  const jobId = toHex(o.subarray(0, 32));
  const snapshotHash = toHex(o.subarray(32, 64));
  const n = o[64]!;
  const workers = Array.from({ length: n }, (_, i) => o.slice(72 + 32 * i, 104 + 32 * i));
  return kind === 1
    ? { kind: "assigned", jobId, snapshotHash, workers }
    : { kind: "reassigned", jobId, snapshotHash, newWorker: workers[0]!, oldWorker: workers[1]! };
}

/** Why a draw could not be recomputed. */
export type DrawFailure = "not_a_snapshot" | "snapshot_hash_mismatch" | "draw_failed";

/**
 * `count` draws from `firstDraw` over the snapshot (checked to hash to
 * `snapshotHash`), as `selection::select` makes them.
 */
export function selectDraws(
  seed: Uint8Array,
  jobId: Uint8Array,
  snapshot: Uint8Array,
  snapshotHash: Uint8Array,
  firstDraw: number,
  count: number,
): { candidates: number; workers: Uint8Array[] } | { failure: DrawFailure } {
  const [r, o] = withBytes([seed, jobId, snapshot, snapshotHash], 32 * count, ([s, j, b, h], out) =>
    wasm().select_draws(s!, j!, b!, snapshot.length, h!, firstDraw, count, out),
  );
  if (r === -1) return { failure: "not_a_snapshot" };
  if (r === -2) return { failure: "snapshot_hash_mismatch" };
  if (r < 0) return { failure: "draw_failed" };
  return { candidates: r, workers: Array.from({ length: count }, (_, i) => o.slice(32 * i, 32 * i + 32)) };
}
