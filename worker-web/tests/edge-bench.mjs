// `cargo xtask bench edge`'s edge half: each bundle through worker-web's
// runJob inside standalone workerd (wasmi-in-wasm, as an edge worker runs
// a seat), timed from here per request, medians of rounds after one
// warm-up; plus the round trip of an empty request (`ping_ms`), which the
// times include. Prints JSON: {ping_ms, rows: [{bundle, rounds, edge_ms,
// outcome, output_hash, fuel_used, engine}]}.
//
//   node worker-web/tests/edge-bench.mjs <target>/worker-web <bundle>...

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { deadline } from "./lib.mjs";
import { runModules, startWorkerd } from "./workerd.mjs";

const [build, ...bundles] = process.argv.slice(2);
if (!build || bundles.length === 0) {
  console.error("usage: node edge-bench.mjs <target>/worker-web <bundle>...");
  process.exit(2);
}
deadline(900, "edge bench");
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const token = randomBytes(16).toString("hex");
const headers = { "x-edgerun-check": token };
const workerd = await startWorkerd(runModules(build), { CHECK_TOKEN: token });
const out = { rows: [] };
try {
  const bodies = bundles.map((b) => readFileSync(b));
  const run = async (body) => {
    const at = performance.now();
    const res = await fetch(`${workerd.url}/run`, { method: "POST", headers, body });
    const json = await res.json();
    return { ms: performance.now() - at, json };
  };
  const pings = [];
  for (let i = 0; i < 20; i++) {
    const at = performance.now();
    await (await fetch(`${workerd.url}/can-compile`, { headers })).json();
    pings.push(performance.now() - at);
  }
  out.ping_ms = median(pings);
  const last = bodies.map(() => null);
  const times = bodies.map(() => []);
  for (const [i, body] of bodies.entries()) last[i] = (await run(body)).json; // warm-up
  const began = performance.now();
  while (times[0].length < 5 || (performance.now() - began < 20_000 && times[0].length < 20)) {
    for (const [i, body] of bodies.entries()) {
      const r = await run(body);
      times[i].push(r.ms);
      last[i] = r.json;
    }
  }
  out.rows = bundles.map((b, i) => ({ bundle: basename(b), rounds: times[i].length, edge_ms: median(times[i]), ...last[i] }));
} finally {
  await workerd.stop();
}
console.log(JSON.stringify(out));
