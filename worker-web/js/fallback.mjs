// wasmi-in-wasm (edgerun-runtime-js's web build), for a host that may not
// compile WebAssembly itself or whose engine failed on a job. Loaded the
// first time a job needs it: a tab whose own engine runs every job never
// downloads it.

let runtime = null;

/// Runs a whole bundle on wasmi-in-wasm: `{output, fuelUsed}`.
export async function runFallback(bundle) {
  runtime ??= (async () => {
    const m = await import("./runtime/edgerun_runtime_js.js");
    await m.default();
    return m;
  })();
  const ran = (await runtime).run_bundle_ran(bundle);
  try {
    return { output: ran.output, fuelUsed: ran.fuel_used };
  } finally {
    ran.free();
  }
}
