// `edgerun edge init` and `edgerun up --edge N`, as an operator uses them:
//
//   node worker-web/tests/edge-up.mjs <edgerun binary> <target>/jobs <target>/worker-web
//
//   1. `edge init` writes a directory for workerd and wrangler (the key and
//      the tick token readable by their owner only) and refuses what it
//      cannot use: a file that is not a keypair, a missing build, an
//      existing worker without --force;
//   2. `edgerun up --workers 0 --edge 3` starts three edge workers in local
//      workerd; a Bronze job gets a committee of them and finalizes, and
//      they are paid;
//   3. a job whose fuel cap is above the edge workers' is never seated on
//      them (their heartbeats say their cap);
//   4. stopping `up` stops every workerd it started (by PID).
//
// Prints a line per phase and `test result:`; exits 1 on the first failure.

import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deadline } from "./lib.mjs";
import { assert, phases, localStack, say, sleep, until } from "./stack.mjs";

const [edgerun, jobsDir, build] = process.argv.slice(2);
if (!edgerun || !jobsDir || !build) {
  console.error("usage: node edge-up.mjs <edgerun binary> <target>/jobs <target>/worker-web");
  process.exit(2);
}
deadline(420, "edge up");

const stack = await localStack(edgerun, jobsDir, "edge-up");
const { phase, ok, failed } = phases();
let up = null;


/// `edgerun <args>`: resolves to {code, out, err}, never rejects.
const run = (args) =>
  new Promise((ok) =>
    execFile(edgerun, ["--home", stack.home, "--rpc", stack.RPC, "--relay", stack.RELAY, ...args], { timeout: 60_000 }, (e, out, err) =>
      ok({ code: e ? (e.code ?? 1) : 0, out, err }),
    ),
  );

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

try {
  await phase("1. edge init writes a worker for workerd and wrangler, and refuses what it cannot use", async () => {
    const key = join(stack.home, "operator.json");
    const notKey = join(stack.home, "not-a-key.json");
    writeFileSync(notKey, '{"hello": "world"}');
    const out = join(stack.home, "edge-worker");
    let r = await run(["edge", "init", "--keypair", notKey, "--worker-web", build, "--out", out]);
    assert(r.code !== 0 && /Solana keypair/.test(r.err), `a non-key is refused with what to pass (got ${r.code}: ${r.err})`);
    assert(!existsSync(out), "nothing written for a refused key");
    // A fresh keypair in Solana's format: seed || public key.
    const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    const bytes = [...Buffer.from(jwk.d, "base64url"), ...Buffer.from(jwk.x, "base64url")];
    writeFileSync(key, JSON.stringify(bytes));
    r = await run(["edge", "init", "--keypair", key, "--worker-web", join(stack.home, "no-build"), "--out", out]);
    assert(r.code !== 0 && /build-worker-web/.test(r.err), `a missing build says how to make it (got ${r.err})`);
    r = await run(["edge", "init", "--keypair", key, "--worker-web", build, "--out", out, "--max-fuel", "123456789"]);
    assert(r.code === 0, `init: ${r.err}`);
    assert(/wrangler deploy/.test(r.out) && /edgerun edge run/.test(r.out), `init says how to deploy each:\n${r.out}`);
    for (const f of ["worker.mjs", "edgerun_worker_web_bg.wasm", "edgerun_runtime_js_bg.wasm", "config.capnp", "wrangler.toml", "edge.json"]) {
      assert(existsSync(join(out, f)), `${f} written`);
    }
    for (const f of ["worker-key.json", "tick-token"]) {
      const mode = statSync(join(out, f)).mode & 0o777;
      assert(mode === 0o600, `${f} is readable by its owner only (mode ${mode.toString(8)})`);
    }
    const keyText = readFileSync(join(out, "worker-key.json"), "utf8");
    const capnp = readFileSync(join(out, "config.capnp"), "utf8");
    const toml = readFileSync(join(out, "wrangler.toml"), "utf8");
    for (const [text, name] of [
      [capnp, "config.capnp"],
      [toml, "wrangler.toml"],
    ]) {
      assert(!text.includes(keyText.trim()), `${name} does not hold the key`);
      assert(text.includes(`"${stack.RELAY}"`) && text.includes(`"${stack.RPC}"`), `${name} names the relay and the RPC`);
      assert(text.includes("123456789"), `${name} carries the fuel cap`);
    }
    assert(capnp.includes('text = embed "worker-key.json"'), "workerd embeds the key file as a binding");
    assert(/main = "worker.mjs"/.test(toml) && /crons = \["\* \* \* \* \*"\]/.test(toml) && /cpu_ms = 30000/.test(toml), `wrangler.toml: entry, cron, CPU limit:\n${toml}`);
    assert(/wrangler secret put EDGERUN_WORKER_KEY/.test(toml), "wrangler.toml says how to add the key as a secret");
    r = await run(["edge", "init", "--keypair", key, "--worker-web", build, "--out", out]);
    assert(r.code !== 0 && /--force/.test(r.err), `an existing worker is not overwritten without --force (got ${r.err})`);
    say("edge init: files, modes, refusals ok");
  });

  let edges;
  await phase("2. edgerun up --edge 3: an edge committee finalizes a Bronze job and is paid", async () => {
    up = await stack.up(["--slot-ms", "100", "--workers", "0", "--edge", "3", "--online-within-s", "6", "--worker-web", build]);
    const info = JSON.parse(readFileSync(join(stack.home, "stack.json"), "utf8"));
    edges = info.edge;
    assert(edges.length === 3, `stack.json lists 3 edge workers (${JSON.stringify(info.edge)})`);
    say(`edge workers: ${edges.map((e) => `${e.worker} at ${e.url}`).join(", ")}`);
    const online = await until("the three edge workers are staked and online, with their fuel cap", 120, async () => {
      const o = await (await fetch(`${stack.RELAY}/v1/workers/online?within_s=6`)).json();
      return edges.every((e) => o.workers.some((w) => w.address === e.worker)) ? o.workers : null;
    });
    for (const w of online) assert(w.max_fuel === 1_900_000_000, `${w.address} says its cap (${w.max_fuel})`);
    // A tick runs a whole invocation (CPU the operator pays for): without
    // the worker's token, or with another, it is refused before anything runs.
    for (const headers of [{}, { "x-edgerun-tick": "0".repeat(32) }]) {
      const res = await fetch(`${edges[0].url}/tick`, { method: "POST", headers });
      assert(res.status === 403, `a tick without the token is 403 (got ${res.status})`);
    }
    assert((await fetch(`${edges[0].url}/anything`)).status === 404, "only POST /tick is served");
    const job = await stack.post("json-redact", readFileSync(new URL("../../tests/vectors/src/inputs/redact-profile.json", import.meta.url)), 500_000_000);
    say(`job ${job.job_id} posted (${job.tier}, committee ${job.committee})`);
    const s = await stack.finalized(job.job_id, 180);
    const addrs = new Set(edges.map((e) => e.worker));
    assert(s.committee.every((c) => addrs.has(c.worker)), "the committee is the edge workers");
    assert(s.settlement.paid.length >= 2 && s.settlement.slashed.length === 0, "a quorum paid, nobody slashed");
    say(JSON.stringify({ job: job.job_id, paid: s.settlement.paid }));
  });

  await phase("3. a job above the edge workers' fuel cap is not seated on them", async () => {
    const job = await stack.post("cpu-loop", "1000", 3_000_000_000);
    say(`job ${job.job_id} posted with fuel cap 3,000,000,000`);
    await sleep(10_000);
    const st = await stack.status(job.job_id);
    assert(st.committee.length === 0 && (st.status === "Posted" || st.status === "Seeded"), `not assigned (${st.status}, ${st.committee.length} seats)`);
    say(`after 10 s: ${st.status}, no seat`);
  });

  await phase("4. stopping up stops every workerd it started", async () => {
    const log = readFileSync(join(stack.home, "up.log"), "utf8");
    const pids = [...log.matchAll(/workerd pid (\d+)/g)].map((m) => Number(m[1]));
    assert(pids.length === 3 && pids.every(alive), `three workerd processes running (${pids})`);
    stack.stop(up);
    await until("up exits", 30, async () => up.exitCode !== null);
    await until("every workerd stopped", 10, async () => !pids.some(alive));
    say(`stopped workerd ${pids.join(", ")}`);
  });

  ok();
} catch (e) {
  failed(e, stack.home);
} finally {
  await stack.stopAll();
}
process.exit(process.exitCode ?? 0);
