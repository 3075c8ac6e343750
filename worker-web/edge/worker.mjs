// The edge worker: worker-web on an edge runtime (workerd, Cloudflare
// Workers). Same worker core as every other worker; jobs run on
// wasmi-in-wasm, because edge runtimes refuse to compile WebAssembly from
// bytes at run time. Both wasm modules are bound at deploy time.
//
// Bindings (text; secrets where the platform has them):
//   EDGERUN_WORKER_KEY   the worker keypair, Solana JSON (64 numbers)  [secret]
//   EDGERUN_TICK_TOKEN   what a tick request must carry                [secret]
//   EDGERUN_RELAY, EDGERUN_RPC, EDGERUN_PROGRAM_ID (optional: the relay's)
//   EDGERUN_STAKE_LAMPORTS  staked from the key's own lamports at first tick
//   EDGERUN_MAX_FUEL     seats with a larger fuel cap are refused (they
//                        could not finish inside one invocation's CPU limit)
//
// How it is woken: each tick is one invocation doing one step of the
// worker (register if needed, heartbeat every 3 s, one pass over its
// seats). A tick comes from `POST /tick` with the token (`edgerun up
// --edge` ticks its local workerd twice a second) or from a Cron Trigger
// (`scheduled`: ticks for up to 25 s, every minute). Nothing is kept
// between invocations that the chain does not have: an invocation cut off
// mid-job leaves the seat unsubmitted, and the next tick runs it again; a
// seat submits once, as the chain refuses a second submission.

import init, { WebWorker } from "./edgerun_worker_web.js";
import workerWasm from "./edgerun_worker_web_bg.wasm";
import initRuntime, { run_bundle_ran } from "./edgerun_runtime_js.js";
import runtimeWasm from "./edgerun_runtime_js_bg.wasm";

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

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/// The events of the tick being run.
let events = [];
let booted = null;
let busy = false;

async function boot(env) {
  await Promise.all([init({ module_or_path: workerWasm }), initRuntime({ module_or_path: runtimeWasm })]);
  let pair;
  try {
    pair = Uint8Array.from(JSON.parse(env.EDGERUN_WORKER_KEY));
  } catch {
    throw new Error("EDGERUN_WORKER_KEY must be a Solana keypair (a JSON array of 64 numbers)");
  }
  if (pair.length !== 64) throw new Error("EDGERUN_WORKER_KEY must hold 64 bytes");
  const seed = pair.subarray(0, 32);
  const pub = pair.subarray(32, 64);
  const key = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "Ed25519", d: b64url(seed), x: b64url(pub) },
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  const address = base58(pub);
  const host = {
    sign: async (bytes) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, bytes)),
    runFallback: async (bundle) => {
      const ran = run_bundle_ran(bundle);
      try {
        return { output: ran.output, fuelUsed: ran.fuel_used };
      } finally {
        ran.free();
      }
    },
    emit: (e) => events.push(e),
  };
  const config = { relay: env.EDGERUN_RELAY, rpc: env.EDGERUN_RPC, worker: address };
  if (env.EDGERUN_PROGRAM_ID) config.programId = env.EDGERUN_PROGRAM_ID;
  if (env.EDGERUN_STAKE_LAMPORTS) config.stakeLamports = Number(env.EDGERUN_STAKE_LAMPORTS);
  if (env.EDGERUN_MAX_FUEL) config.maxFuel = Number(env.EDGERUN_MAX_FUEL);
  const worker = await WebWorker.connect(config, host);
  return { worker, address, lastBeat: 0 };
}

/// One step: register if needed, heartbeat (every 3 s), one pass over the
/// seats. Resolves to what happened.
async function tick(env) {
  if (busy) return { busy: true };
  busy = true;
  events = [];
  try {
    booted ??= boot(env).catch((e) => {
      booted = null;
      throw e;
    });
    const s = await booted;
    const registered = await s.worker.ensureRegistered();
    if (Date.now() - s.lastBeat >= 3000) {
      await s.worker.heartbeat();
      s.lastBeat = Date.now();
    }
    const acted = await s.worker.step();
    return { worker: s.address, registered, acted, events };
  } finally {
    busy = false;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/tick" || request.method !== "POST") {
      return new Response("edgerun edge worker: POST /tick\n", { status: 404 });
    }
    if (!env.EDGERUN_TICK_TOKEN || request.headers.get("x-edgerun-tick") !== env.EDGERUN_TICK_TOKEN) {
      return new Response("forbidden\n", { status: 403 });
    }
    try {
      return Response.json(await tick(env));
    } catch (e) {
      return Response.json({ error: String(e?.message ?? e), events }, { status: 500 });
    }
  },

  // A Cron Trigger: tick for up to 25 s of wall time.
  async scheduled(_event, env, ctx) {
    ctx.waitUntil(
      (async () => {
        const end = Date.now() + 25_000;
        while (Date.now() < end) {
          await tick(env).catch(() => {});
          await new Promise((r) => setTimeout(r, 500));
        }
      })(),
    );
  },
};
