// A volunteer's edgerun worker, inside a module Web Worker. It owns the
// compute and the key; the page only shows what it reports.
//
// The worker key is a WebCrypto Ed25519 key created here, non-extractable,
// kept in IndexedDB: it never leaves this origin's storage, and no script
// (this one included) can read its secret. The worker core is the same Rust
// state machine every native worker runs (pkg/edgerun_worker_web.js); jobs
// run on the browser's own WebAssembly engine (engine.mjs), or on
// wasmi-in-wasm where the page may not compile WebAssembly from bytes.

import init, { WebWorker } from "./pkg/edgerun_worker_web.js";
import { runModule } from "./host.mjs";
import { runFallback } from "./fallback.mjs";

const DB = "edgerun-volunteer";
const STORE = "keys";

function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    };
  });
}

/// The worker key of this origin (and `slot`, so several workers can share
/// a browser profile in tests): loaded, or created once.
async function workerKey(slot) {
  const name = `worker-${slot}`;
  let rec = await idb("readonly", (s) => s.get(name));
  if (!rec) {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    rec = { privateKey: pair.privateKey, publicRaw: raw };
    await idb("readwrite", (s) => s.put(rec, name));
  }
  return rec;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let s = "";
  while (n > 0n) {
    s = B58[Number(n % 58n)] + s;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    s = "1" + s;
  }
  return s;
}

const emit = (event) => postMessage({ type: "event", event });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Whether this host compiles WebAssembly from bytes (a CSP without
/// 'wasm-unsafe-eval' refuses).
function canCompile() {
  try {
    new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    return true;
  } catch {
    return false;
  }
}

const state = {
  paused: false,
  stopped: false,
  cpuCap: 100,
  onlyWhenHidden: false,
  visible: true,
  // The machine is idle (IdleDetector, where the page was granted it).
  idle: false,
  worker: null,
};

/// Whether this worker should take new seats now: not paused, and hidden
/// or the machine idle if it should run only then.
const active = () => !state.paused && (!state.onlyWhenHidden || !state.visible || state.idle);

/// Answers a page's request (`{cmd, id, ...}`) with `{type: "reply", id,
/// result}` or `{type: "reply", id, error}`.
function reply(id, work) {
  Promise.resolve()
    .then(work)
    .then(
      (result) => postMessage({ type: "reply", id, result }),
      (e) => postMessage({ type: "reply", id, error: String(e?.message ?? e) }),
    );
}

onmessage = ({ data }) => {
  switch (data.cmd) {
    case "start":
      start(data.opts).catch((e) => emit({ type: "error", message: String(e?.message ?? e) }));
      break;
    case "pause":
      state.paused = true;
      emit({ type: "paused" });
      break;
    case "resume":
      state.paused = false;
      emit({ type: "resumed" });
      break;
    case "cpu":
      state.cpuCap = Math.min(100, Math.max(5, data.percent | 0));
      emit({ type: "cpu", percent: state.cpuCap });
      break;
    case "visibility":
      state.visible = data.visible;
      break;
    case "idle":
      state.idle = data.idle;
      break;
    case "stake":
      reply(data.id, async () => (state.worker ? state.worker.stake() : null));
      break;
    case "withdraw":
      // The wallet path again: withdraw_stake to the wallet (the stake's
      // authority), which signs and sends it.
      reply(data.id, async () => {
        if (!state.worker) throw new Error("the worker has not started yet");
        return state.worker.withdrawTransaction(data.authority, data.lamports);
      });
      break;
    case "registration":
      // The wallet path: the worker key signs register_worker with the
      // wallet as fee payer and authority; the page's wallet adds its
      // signature and sends it.
      reply(data.id, async () => {
        if (!state.worker) throw new Error("the worker has not started yet");
        return state.worker.registrationTransaction(data.authority, data.lamports);
      });
      break;
    case "stop":
      state.stopped = true;
      break;
  }
};

/// With `trace`, where the loop is (for tests that must say where a
/// worker stopped).
let trace = () => {};

async function start(opts) {
  if (opts.trace) trace = (at) => emit({ type: "trace", at, ms: Date.now() });
  await init(opts.wasmUrl ? { module_or_path: opts.wasmUrl } : undefined);
  state.cpuCap = opts.cpuCap ?? 100;
  state.onlyWhenHidden = !!opts.onlyWhenHidden;
  const key = await workerKey(opts.slot ?? 0);
  const address = base58(key.publicRaw);
  const hostEngine = opts.engine !== "wasmi" && canCompile();
  const host = {
    sign: async (bytes) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, bytes)),
    runModule: hostEngine
      ? runModule
      : undefined,
    runFallback,
    emit,
  };
  const worker = await WebWorker.connect(
    { relay: opts.relay, rpc: opts.rpc, worker: address, programId: opts.programId },
    host,
  );
  state.worker = worker;
  emit({ type: "started", worker: address, program: worker.programId(), engine: hostEngine ? "host" : "wasmi" });

  let stake = await worker.stake();
  if (stake === null) {
    if (opts.register === "wallet") {
      emit({ type: "needs-wallet", worker: address });
      while ((stake = await worker.stake().catch(() => null)) === null && !state.stopped) await sleep(500);
      if (state.stopped) return emit({ type: "stopped" });
      emit({ type: "registered", sponsored: false, authority: stake.authority });
    } else {
      const sponsored = await worker.sponsor();
      emit({ type: "registered", sponsored: true, ...sponsored });
      stake = await worker.stake();
    }
  }
  emit({ type: "stake", ...stake });

  let lastBeat = 0;
  let lastEarnings = 0;
  let wasActive = null;
  while (!state.stopped) {
    if (active() !== wasActive) {
      wasActive = active();
      emit({ type: wasActive ? "taking-seats" : "idle-no-seats", paused: state.paused, visible: state.visible });
    }
    // Heartbeats make the scheduler draw this worker; without them (paused,
    // or the tab visible while it should run only hidden) it takes no new
    // seat, and still finishes the seats it holds.
    if (active() && Date.now() - lastBeat > 3000) {
      try {
        trace("heartbeat");
        await worker.heartbeat();
        lastBeat = Date.now();
      } catch (e) {
        emit({ type: "error", message: `heartbeat: ${e?.message ?? e}` });
      }
    }
    const began = performance.now();
    let acted = [];
    try {
      trace("step");
      acted = await worker.step();
    } catch (e) {
      emit({ type: "error", message: `step: ${e?.message ?? e}` });
    }
    const busy = performance.now() - began;
    // Earnings from chain: what finalize paid this worker's stake and what
    // penalties and slashes took, read from the transactions that touched
    // it (after a reveal at once, else every few seconds).
    const revealed = acted.some((a) => a.type === "revealed");
    if (revealed || Date.now() - lastEarnings > 4000) {
      try {
        trace("earnings");
        const e = await worker.earnings();
        lastEarnings = Date.now();
        for (const c of e.changes) emit({ type: c.kind, job: c.job, lamports: c.lamports, signature: c.signature });
        if (e.changes.length) {
          const now = await worker.stake().catch(() => null);
          emit({ type: "earnings", paid: e.paid, penalized: e.penalized, slashed: e.slashed, stake: now });
        }
      } catch (err) {
        emit({ type: "error", message: `earnings: ${err?.message ?? err}` });
      }
    }
    // The CPU cap: after `busy` ms of work, rest so work is cpuCap % of
    // the time.
    const rest = acted.length ? (busy * (100 - state.cpuCap)) / state.cpuCap : 0;
    trace("rest");
    await sleep(Math.max(opts.pollMs ?? 300, rest));
  }
  emit({ type: "stopped" });
}
