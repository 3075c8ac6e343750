// A local edgerun stack for the SDK's tests: `edgerun up` on free
// loopback ports in a fresh home (its relay, RPC, scheduler and native
// workers), stopped by PID. EDGERUN_BIN overrides target/debug/edgerun
// (`cargo build -p edgerun-cli --bin edgerun`; the program from `cargo
// xtask build-program`, the jobs from `cargo xtask build-jobs`).

import { rpcPortPair } from "../../worker-web/tests/stack.mjs";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const edgerun = process.env.EDGERUN_BIN ?? join(repo, "target/debug/edgerun");
export const jobsDir = join(repo, "target/jobs");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// A loopback port nothing listens on (now).
export const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

/// Polls `probe` every 250 ms until it gives something truthy; throws after `seconds`.
export async function until(what, seconds, probe, alive = () => {}) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    alive();
    const got = await probe().catch(() => null);
    if (got) return got;
    if (Date.now() > end) throw new Error(`${what}: not within ${seconds} s`);
    await sleep(250);
  }
}

/// What the stack needs built, or why it cannot start.
export function missing() {
  for (const f of [edgerun, join(jobsDir, "json-redact.wasm"), join(jobsDir, "compress-hash.wasm")]) {
    if (!existsSync(f)) return `${f} is missing (cargo build -p edgerun-cli --bin edgerun; cargo xtask build-program; cargo xtask build-jobs)`;
  }
  return null;
}

/// Starts `edgerun up --workers 3` and resolves once its relay serves
/// /v1/info; `stop()` ends it by PID (SIGTERM, then SIGKILL).
/// `server` listening on a free loopback port: `{url, close}`.
export async function listen(server) {
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => (server.closeAllConnections?.(), server.close(ok))),
  };
}

export async function startStack(args = ["--workers", "3"]) {
  const home = mkdtempSync(join(tmpdir(), "edgerun-sdk-"));
  const rpcPort = await rpcPortPair();
  let relayPort = await freePort();
  while (relayPort === rpcPort || relayPort === rpcPort + 1) relayPort = await freePort();
  const rpc = `http://127.0.0.1:${rpcPort}`;
  const relay = `http://127.0.0.1:${relayPort}`;
  const log = openSync(join(home, "up.log"), "a");
  const child = spawn(
    edgerun,
    ["--home", home, "--rpc", rpc, "--relay", relay, "up", "--rpc-port", String(rpcPort), "--relay-port", String(relayPort), "--slot-ms", "100", ...args],
    // At the repo root: `up` finds target/deploy/edgerun_program.so and the
    // web builds relative to it.
    { cwd: repo, stdio: ["ignore", log, log] },
  );
  const stop = async () => {
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {}
    const end = Date.now() + 5_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(100);
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {}
  };
  try {
    const alive = () => {
      if (child.exitCode !== null) throw new Error(`edgerun up exited (${child.exitCode}):\n${readFileSync(join(home, "up.log"), "utf8")}`);
    };
    await until("edgerun up serves /v1/info", 180, async () => {
      const info = await fetch(`${relay}/v1/info`);
      return info.ok && (await info.json()).program_id;
    }, alive);
    // Workers online, so posted jobs are seated.
    await until("3 workers online", 120, async () => {
      const r = await (await fetch(`${relay}/v1/workers/online`)).json();
      return r.workers.length >= 3;
    }, alive);
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\nlogs in ${home}`);
  }
  const rpcCall = async (method, params = []) => {
    const res = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = await res.json();
    if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  };
  return {
    home,
    rpc,
    relay,
    pid: child.pid,
    apiKey: readFileSync(join(home, "api-key"), "utf8").trim(),
    rpcCall,
    stop,
  };
}
