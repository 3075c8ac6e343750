// Runs every example of docs/api.md against `edgerun up --workers 3`, in
// order, in one bash (variables carry from block to block), and checks
// each block's output against the `<!-- expect: REGEX -->` above it.
//
//   node docs/tests/api.mjs <edgerun binary> <target>/jobs <b3sum dir>

import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { deadline } from "../../worker-web/tests/lib.mjs";
import { assert, phases, localStack, say, until } from "../../worker-web/tests/stack.mjs";

const [edgerun, jobsDir, toolsBin] = process.argv.slice(2);
if (!edgerun || !jobsDir || !toolsBin) {
  console.error("usage: node docs/tests/api.mjs <edgerun binary> <target>/jobs <dir with b3sum>");
  process.exit(2);
}
deadline(300, "api docs");
const repo = new URL("../..", import.meta.url).pathname;

/// The examples: each ```sh block with the expect comment before it.
const text = readFileSync(join(repo, "docs/api.md"), "utf8");
const blocks = [...text.matchAll(/<!-- expect: (.*?) -->\s*```sh\n([\s\S]*?)```/g)].map((m, i) => ({
  n: i + 1,
  expect: new RegExp(m[1], "m"),
  script: m[2],
}));
const shBlocks = (text.match(/```sh\n/g) ?? []).length;

const stack = await localStack(edgerun, jobsDir, "api-docs");
const { phase, ok, failed } = phases();
let bash = null;
try {
  assert(blocks.length === shBlocks && blocks.length >= 10, `every example has an expectation (${blocks.length} of ${shBlocks})`);
  await stack.up(["--slot-ms", "100", "--workers", "3"]);
  await until("the three workers are online", 60, async () =>
    (await (await fetch(`${stack.RELAY}/v1/workers/online?within_s=30`)).json()).workers.length === 3);
  const work = mkdtempSync(join(tmpdir(), "edgerun-api-"));
  copyFileSync(join(jobsDir, "json-redact.wasm"), join(work, "json-redact.wasm"));
  copyFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json"), join(work, "redact-profile.json"));
  bash = spawn("bash", ["--noprofile", "--norc"], {
    cwd: work,
    env: {
      ...process.env,
      PATH: `${dirname(edgerun)}:${toolsBin}:${process.env.PATH}`,
      RELAY: stack.RELAY,
      RPC: stack.RPC,
      API_KEY: readFileSync(join(stack.home, "api-key"), "utf8").trim(),
      EDGERUN_RELAY: stack.RELAY,
      EDGERUN_RPC: stack.RPC,
      EDGERUN_HOME: stack.home,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  bash.stdout.on("data", (d) => (out += d));
  bash.stderr.on("data", (d) => (err += d));
  for (const b of blocks) {
    await phase(`example ${b.n}: ${b.script.split("\n")[0].slice(0, 70)}`, async () => {
      const marker = `__edgerun_done_${b.n}__`;
      out = "";
      err = "";
      bash.stdin.write(`${b.script}\necho "${marker} $?"\n`);
      const done = await until(`example ${b.n} finishes`, 90, async () => {
        const m = out.match(new RegExp(`${marker} (\\d+)`));
        return m ? { code: Number(m[1]) } : null;
      }).then((r) => r.code).catch(() => null);
      const printed = out.replace(new RegExp(`${marker} \\d+\\n?`), "").trim();
      say(printed.split("\n").slice(0, 6).join("\n"));
      assert(done === 0, `example ${b.n} exited ${done}: ${err.trim()}`);
      assert(b.expect.test(printed), `example ${b.n}'s output matches ${b.expect}: ${printed}\n${err.trim()}`);
    });
  }
  ok();
} catch (e) {
  failed(e, stack.home);
} finally {
  bash?.kill("SIGKILL");
  await stack.stopAll();
}
process.exit(process.exitCode ?? 0);
