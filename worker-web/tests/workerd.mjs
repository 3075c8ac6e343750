// Standalone workerd (npm `workerd`) for the edge tests: writes a config
// that binds the given modules and text bindings, serves it on 127.0.0.1
// at a free port, and stops it by PID (SIGKILL after a grace period:
// workerd waits for open requests on SIGTERM).

import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

const repo = resolve(new URL("../..", import.meta.url).pathname);
// The platform binary itself (npm's `workerd` may be a launcher that
// starts it as a child, whose PID would not be the server's).
const platformBinary = join(repo, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");
export const WORKERD =
  process.env.EDGERUN_WORKERD ?? (existsSync(platformBinary) ? platformBinary : join(repo, "node_modules/.bin/workerd"));

const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

/// `modules`: [{name, path, kind: "esModule" | "wasm"}], the first the
/// entry; `bindings`: {NAME: "text"}. Resolves to {url, pid, log, stop}.
export async function startWorkerd(modules, bindings = {}) {
  const dir = mkdtempSync(join(tmpdir(), "edgerun-workerd-"));
  for (const m of modules) copyFileSync(m.path, join(dir, m.name));
  const port = await freePort();
  const mods = modules.map((m) => `(name = "${m.name}", ${m.kind} = embed "${basename(m.name)}")`).join(",\n    ");
  const binds = Object.entries(bindings)
    .map(([k, v]) => `(name = "${k}", text = ${JSON.stringify(v)})`)
    .join(",\n    ");
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .edge),
    # Outbound fetch may reach loopback (the local stack), not only the
    # public internet workerd allows by default.
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const edge :Workerd.Worker = (
  modules = [
    ${mods}
  ],
  bindings = [
    ${binds}
  ],
  compatibilityDate = "2026-11-01",
  globalOutbound = "net",
);
`,
  );
  const log = join(dir, "workerd.log");
  const out = openSync(log, "a");
  const child = spawn(WORKERD, ["serve", join(dir, "config.capnp"), "--verbose"], { stdio: ["ignore", out, out] });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      const text = readFileSync(log, "utf8");
      await stop();
      throw new Error(`workerd exited (${child.exitCode}):\n${text}`);
    }
    try {
      await fetch(url);
      break;
    } catch {}
    if (Date.now() - started > 30_000) {
      await stop();
      throw new Error(`workerd did not listen on ${url} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid, log, stop };
}

/// An entry module of worker-web/edge/ (run.mjs: one bundle per request;
/// worker.mjs: the edge worker) with worker-web's build.
export function runModules(build, entry = "run.mjs") {
  return [
    { name: entry, path: join(repo, "worker-web/edge", entry), kind: "esModule" },
    { name: "edgerun_worker_web.js", path: join(build, "pkg/edgerun_worker_web.js"), kind: "esModule" },
    { name: "edgerun_worker_web_bg.wasm", path: join(build, "pkg/edgerun_worker_web_bg.wasm"), kind: "wasm" },
    { name: "edgerun_runtime_js.js", path: join(build, "runtime/edgerun_runtime_js.js"), kind: "esModule" },
    { name: "edgerun_runtime_js_bg.wasm", path: join(build, "runtime/edgerun_runtime_js_bg.wasm"), kind: "wasm" },
  ];
}
