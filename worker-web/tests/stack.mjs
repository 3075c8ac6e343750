// A local edgerun stack for the end-to-end scripts: `edgerun up` on free
// loopback ports in a fresh home, the CLI against it, JSON-RPC, and the
// small helpers every script uses (polling with a limit, assertions, a
// timestamped log). Every process started through it is stopped by PID.

import { execFile, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const t0 = Date.now();
export const say = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`, ...a);

export function fail(message) {
  throw new Error(message);
}

export function assert(cond, message) {
  if (!cond) fail(message);
}

/// A script's numbered phases: `phase(name, body)` logs and counts them;
/// `ok()` and `failed(e, home)` print the `test result:` line xtask reads.
export function phases() {
  const r = { passed: 0 };
  r.phase = async (name, body) => {
    say(`== ${name}`);
    await body();
    r.passed++;
    say(`ok: ${name}`);
  };
  r.ok = () => console.log(`test result: ok. ${r.passed} passed; 0 failed`);
  r.failed = (e, home) => {
    console.error(`FAILED: ${e.message}`);
    if (home) console.error(`logs in ${home}`);
    console.log(`test result: FAILED. ${r.passed} passed; 1 failed`);
    process.exitCode = 1;
  };
  return r;
}

export const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

/// Polls `probe` every 250 ms until it gives something truthy; fails after
/// `seconds`.
/// Whether `port` on 127.0.0.1 can be listened on now.
const isFree = (port) =>
  new Promise((ok) => {
    const s = createServer();
    s.once("error", () => ok(false));
    s.listen(port, "127.0.0.1", () => s.close(() => ok(true)));
  });

/// A JSON-RPC port whose next port (the chain's WebSocket) is free too: a
/// stack just stopped may still hold a port a random pick lands next to.
export async function rpcPortPair() {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
}

export async function until(what, seconds, probe) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const got = await probe().catch(() => null);
    if (got) return got;
    if (Date.now() > end) fail(`${what}: not within ${seconds} s`);
    await sleep(250);
  }
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
export function base58(bytes) {
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

/// A stack's ports, home and commands; `up(args)` starts `edgerun up`
/// with them.
export async function localStack(edgerun, jobsDir, name) {
  const home = mkdtempSync(join(tmpdir(), `edgerun-${name}-`));
  const rpcPort = await rpcPortPair();
  let relayPort = await freePort();
  while (relayPort === rpcPort || relayPort === rpcPort + 1) relayPort = await freePort();
  const RPC = `http://127.0.0.1:${rpcPort}`;
  const RELAY = `http://127.0.0.1:${relayPort}`;
  const children = [];

  const start = (args, log) => {
    const out = openSync(join(home, log), "a");
    const child = spawn(edgerun, ["--home", home, "--rpc", RPC, "--relay", RELAY, ...args], {
      stdio: ["ignore", out, out],
    });
    children.push(child);
    return child;
  };
  const stop = (child) => {
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {}
  };
  const cli = (args) =>
    new Promise((ok, ko) =>
      execFile(edgerun, ["--home", home, "--rpc", RPC, "--relay", RELAY, ...args], { timeout: 60_000 }, (e, out, err) =>
        e ? ko(new Error(`edgerun ${args.join(" ")}: ${err || e.message}`)) : ok(out),
      ),
    );
  const rpc = async (method, params = []) => {
    const res = await fetch(RPC, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = await res.json();
    if (body.error) fail(`${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  };
  const status = async (job) => JSON.parse(await cli(["status", job, "--json"]));
  const s = {
    home,
    RPC,
    RELAY,
    children,
    start,
    stop,
    cli,
    rpc,
    status,
    /// `edgerun up` with these ports and `args`; resolves once the relay
    /// serves /v1/info and /worker/.
    async up(args) {
      const up = start(["up", "--rpc-port", String(rpcPort), "--relay-port", String(relayPort), ...args], "up.log");
      await until("edgerun up serves /v1/info and /worker/", 180, async () => {
        if (up.exitCode !== null) {
          fail(`edgerun up exited (${up.exitCode}):\n${readFileSync(join(home, "up.log"), "utf8")}`);
        }
        const info = await fetch(`${RELAY}/v1/info`);
        const page = await fetch(`${RELAY}/worker/`);
        return info.ok && page.ok && (await info.json()).program_id;
      });
      return up;
    },
    /// Posts a job (`<jobsDir>/<wasm>.wasm`, the input's bytes, a fuel cap).
    async post(wasm, input, fuel) {
      const file = join(home, `input-${Date.now()}-${Math.random().toString(36).slice(2)}`);
      (await import("node:fs")).writeFileSync(file, input);
      return JSON.parse(await cli(["post", "--wasm", join(jobsDir, `${wasm}.wasm`), "--input", file, "--fuel", String(fuel), "--json"]));
    },
    async finalized(job, seconds) {
      return until(`job ${job.slice(0, 8)} finalizes`, seconds, async () => {
        const st = await status(job);
        if (st.status === "Cancelled") fail(`job ${job} was cancelled`);
        return st.status === "Finalized" ? st : null;
      });
    },
    stakeOf: async (address) => JSON.parse(await cli(["stake", "show", address, "--json"]).catch(() => "null")),
    /// The address of `<home>/keys/<name>.json`.
    keyAddress(name) {
      const key = JSON.parse(readFileSync(join(home, `keys/${name}.json`), "utf8"));
      return base58(Buffer.from(key.slice(32, 64)));
    },
    keyPath: (name) => join(home, `keys/${name}.json`),
    /// Stops every child by PID (SIGTERM, then SIGKILL).
    async stopAll() {
      for (const c of children) stop(c);
      await sleep(500);
      for (const c of children) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {}
      }
    },
  };
  return s;
}
