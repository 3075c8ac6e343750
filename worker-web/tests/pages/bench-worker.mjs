// Times each bundle through worker-web's runJob in this Web Worker: on the
// browser's own engine and on wasmi-in-wasm, interleaved round by round so
// load hits both alike; reports medians (ms), the engine's first run (cold:
// nothing prepared or compiled yet) and the outcome of each path.
import init, { runJob } from "/pkg/edgerun_worker_web.js";
import { runModule } from "/host.mjs";
import { runFallback } from "/fallback.mjs";

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

onmessage = async ({ data }) => {
  try {
    await init();
    const hosts = {
      engine: { runModule, runFallback, emit() {} },
      wasmi: { runFallback, emit() {} },
    };
    const rows = [];
    for (const name of data.bundles) {
      const bundle = new Uint8Array(await (await fetch(`/bundles/${name}`)).arrayBuffer());
      const times = { engine: [], wasmi: [] };
      const last = {};
      const began = performance.now();
      while (times.engine.length < data.minRounds || (performance.now() - began < data.budgetMs && times.engine.length < 30)) {
        for (const [path, host] of Object.entries(hosts)) {
          const at = performance.now();
          last[path] = await runJob(bundle, host);
          times[path].push(performance.now() - at);
        }
      }
      rows.push({
        bundle: name,
        rounds: times.engine.length,
        engine_ms: median(times.engine),
        // The first run of this wasm in this tab: validate, instrument and
        // compile included (later runs reuse the prepared, compiled module).
        engine_first_ms: times.engine[0],
        wasmi_ms: median(times.wasmi),
        engine: last.engine,
        wasmi: last.wasmi,
      });
    }
    postMessage({ rows });
  } catch (e) {
    postMessage({ error: String(e?.stack ?? e) });
  }
};
