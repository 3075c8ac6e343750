/** Following a job: the relay's server-sent events, reconnecting. */
import { EdgerunError, RelayError, TimeoutError } from "./errors.js";
import { base, check, type JobView, request, TERMINAL } from "./relay.js";

export interface FollowOptions {
  relay: string | URL;
  signal?: AbortSignal;
  /** Consecutive failed connections before giving up (default 10). */
  maxRetries?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok, ko) => {
    const t = setTimeout(ok, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), ko(signal.reason)), { once: true });
  });

/** Answers worth retrying: the relay busy or the chain briefly away. */
const retryable = (e: unknown) => !(e instanceof RelayError) || e.status === 429 || e.status >= 500;

/** Server-sent events of one response: `{event, data}` as they arrive. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.getReader();
  const text = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += text.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer[nl] === "\r" ? 2 : 1));
        if (line === "") {
          if (data.length) yield { event, data: data.join("\n") };
          event = "message";
          data = [];
        } else if (line.startsWith(":")) {
          // a comment (keep-alive)
        } else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * The job's views as its status, seats, winning hash or published output
 * change (`GET /v1/jobs/{id}/events`), ending after Finalized or
 * Cancelled. A dropped stream, or an `event: error` from the relay, is
 * reconnected with backoff; a refusal that will not change (an unknown
 * job) is thrown as a {@link RelayError}.
 */
export async function* followJob(jobId: string, o: FollowOptions): AsyncGenerator<JobView> {
  const url = `${base(o.relay)}/v1/jobs/${jobId}/events`;
  const maxRetries = o.maxRetries ?? 10;
  let failures = 0;
  let last: string | undefined;
  for (;;) {
    let lastError: unknown;
    try {
      const res = await check(await request(url, { headers: { accept: "text/event-stream" }, signal: o.signal }));
      for await (const e of events(res.body!)) {
        if (e.event === "job") {
          failures = 0;
          // A reconnect repeats the current view (at a later slot): say
          // each change once.
          const view = JSON.parse(e.data) as JobView;
          const key = JSON.stringify({ ...view, current_slot: 0 });
          if (key === last) continue;
          last = key;
          yield view;
          if (TERMINAL.has(view.status)) return;
        } else if (e.event === "error") {
          const body = JSON.parse(e.data);
          lastError = new EdgerunError(body.code ?? "stream_error", `the relay's event stream failed: ${body.message ?? e.data}`);
          break;
        }
      }
    } catch (e) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (!retryable(e)) throw e;
      lastError = e;
    }
    failures++;
    if (failures > maxRetries) {
      throw lastError instanceof EdgerunError
        ? lastError
        : new EdgerunError("stream_lost", `job ${jobId}'s event stream dropped ${failures} times in a row`, { cause: lastError });
    }
    await sleep(Math.min(250 * 2 ** (failures - 1), 5_000), o.signal);
  }
}

export interface WaitOptions extends FollowOptions {
  /** Give up after this long (default 120 s) with a {@link TimeoutError}. */
  timeoutMs?: number;
}

/** Follows the job until Finalized or Cancelled; resolves to its last view. */
export async function waitForJob(jobId: string, o: WaitOptions): Promise<JobView> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  const timer = new AbortController();
  const t = setTimeout(() => timer.abort(new TimeoutError(`job ${jobId} finished`, timeoutMs)), timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timer.signal]) : timer.signal;
  try {
    let last: JobView | undefined;
    for await (const view of followJob(jobId, { ...o, signal })) last = view;
    return last!;
  } catch (e) {
    if (timer.signal.aborted) throw timer.signal.reason;
    throw e;
  } finally {
    clearTimeout(t);
  }
}
