/** The relay's HTTP API (docs/relay.md) as the SDK uses it. */
import { EdgerunError, RelayError } from "./errors.js";

/** `GET /v1/info`. */
export interface RelayInfo {
  fee_payer: string | null;
  program_id: string;
  runtime_id: string;
  rpc_url: string | null;
}

/** `GET /v1/config`: the program's Config, decoded by the relay. */
export interface ChainConfig {
  address: string;
  protocol_fee_bps: number;
  min_job_fee_lamports: number;
  min_worker_stake_lamports: number;
  min_escrow_lamports: number;
  max_instructions: number;
  max_memory_bytes: number;
  max_output_bytes: number;
  paused: boolean;
}

/** One seat of a job's committee, as the relay shows it. */
export interface Seat {
  worker: string;
  seal: string | null;
  winner: boolean;
  settled: boolean;
  penalized: boolean;
}

/** `GET /v1/jobs/{id}` and each `event: job` of its stream. */
export interface JobView {
  job_id: string;
  /** The Job account's address: read it from any RPC to check. */
  address: string;
  status: string;
  tier: string;
  committee_size: number;
  quorum: number;
  client: string;
  escrow_lamports: number;
  priority_fee_lamports: number;
  bundle_hash: string;
  runtime_id: string;
  committee: Seat[];
  winning_output_hash: string | null;
  output: { output_hash: string; url: string | null; publisher: string; published_slot: number } | null;
  current_slot: number;
  deadline_slot: number;
  da_deadline_slot: number;
  expiry_slot: number;
  timeline: { event: string; slot: number }[];
  [field: string]: unknown;
}

/** The statuses after which a job never changes. */
export const TERMINAL = new Set(["Finalized", "Cancelled"]);

/** A relay's base URL without a trailing slash. */
export function base(relay: string | URL): string {
  return String(relay).replace(/\/+$/, "");
}

/** Throws the relay's `{code, message}` as a {@link RelayError}. */
export async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  const text = await res.text().catch(() => "");
  let code = "http_" + res.status;
  let message = text || res.statusText;
  try {
    const body = JSON.parse(text);
    if (typeof body?.code === "string") code = body.code;
    if (typeof body?.message === "string") message = body.message;
  } catch {}
  throw new RelayError(res.status, code, message);
}

/** `fetch`, with a relay that does not answer said as code `unreachable`. */
export async function request(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (init?.signal?.aborted) throw init.signal.reason;
    throw new EdgerunError("unreachable", `the relay at ${new URL(url).origin} did not answer (${(e as Error).message}); is it running?`, { cause: e });
  }
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await check(await request(url, init))).json()) as T;
}
