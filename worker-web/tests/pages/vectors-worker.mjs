// Runs each conformance vector twice through worker-web's runJob: on this
// browser's own WebAssembly engine (engine.mjs), and on wasmi-in-wasm
// (fallback.mjs) with no host engine offered.
import init, { runJob } from "/pkg/edgerun_worker_web.js";
import { runModule } from "/host.mjs";
import { runFallback } from "/fallback.mjs";

onmessage = async ({ data }) => {
  try {
    await init();
    const manifest = await (await fetch(`${data.vectors}vectors.json`)).json();
    const results = [];
    for (const v of manifest.vectors) {
      const bundle = new Uint8Array(await (await fetch(data.vectors + v.bundle)).arrayBuffer());
      const row = { name: v.name };
      const hosts = {
        engine: { runModule, runFallback },
        wasmi: { runFallback },
      };
      for (const [path, host] of Object.entries(hosts)) {
        const events = [];
        host.emit = (e) => events.push(e);
        try {
          row[path] = await runJob(bundle, host);
        } catch (e) {
          row[path] = { error: String(e?.message ?? e) };
        }
        // A host-engine failure falls back to wasmi; say so.
        const fallback = events.find((e) => e.type === "engine");
        if (fallback) row[path].fallback = fallback.why;
      }
      results.push(row);
    }
    postMessage({ results });
  } catch (e) {
    postMessage({ error: String(e?.stack ?? e) });
  }
};
