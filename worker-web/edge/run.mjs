// A workerd module that runs one job bundle per request, the way an edge
// worker runs its seats: worker-web's runJob (validate, then the whole
// bundle on wasmi-in-wasm, because an edge runtime refuses to compile
// WebAssembly from bytes at run time). Both wasm modules are bound at
// deploy time, as workerd and Cloudflare require. For conformance checks
// and benchmarks (worker-web/tests/edge.mjs), not a public service: it
// answers only requests carrying the check token bound as CHECK_TOKEN.
//
// POST /run (body: the bundle) -> {engine, outcome, output_hash, fuel_used, output_len}

import init, { runJob } from "./edgerun_worker_web.js";
import workerWasm from "./edgerun_worker_web_bg.wasm";
import initRuntime, { run_bundle_ran } from "./edgerun_runtime_js.js";
import runtimeWasm from "./edgerun_runtime_js_bg.wasm";

let ready = null;

const host = {
  // No runModule: the job runs on wasmi-in-wasm.
  runFallback: async (bundle) => {
    const ran = run_bundle_ran(bundle);
    try {
      return { output: ran.output, fuelUsed: ran.fuel_used };
    } finally {
      ran.free();
    }
  },
  emit() {},
};

export default {
  async fetch(request, env) {
    if (!env.CHECK_TOKEN || request.headers.get("x-edgerun-check") !== env.CHECK_TOKEN) {
      return new Response("forbidden\n", { status: 403 });
    }
    const url = new URL(request.url);
    ready ??= Promise.all([
      init({ module_or_path: workerWasm }),
      initRuntime({ module_or_path: runtimeWasm }),
    ]);
    await ready;
    if (url.pathname === "/can-compile") {
      // Whether this runtime compiles WebAssembly from bytes at run time
      // (workerd and Cloudflare do not: why the edge runs wasmi-in-wasm).
      let compiles = true;
      try {
        new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
      } catch {
        compiles = false;
      }
      return Response.json({ compiles });
    }
    if (request.method !== "POST" || url.pathname !== "/run") {
      return new Response("POST /run with a bundle\n", { status: 404 });
    }
    const bundle = new Uint8Array(await request.arrayBuffer());
    try {
      return Response.json(await runJob(bundle, host));
    } catch (e) {
      return Response.json({ error: String(e?.message ?? e) }, { status: 422 });
    }
  },
};
