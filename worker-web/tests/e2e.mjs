// Browser workers against a real local stack, end to end:
//
//   node worker-web/tests/e2e.mjs <edgerun binary> <target>/jobs
//
// Starts `edgerun up --workers 0` (chain, relay, scheduler; no native
// workers) on free loopback ports, then Chromium pages, each a volunteer
// with its own key, each behind its own relay and RPC proxy (so one page
// can be fed wrong bytes or lose its RPC while the others do not):
//
//   1. A and B (sponsored by the relay) and W (a wallet as authority: the
//      test plays the wallet, signing the transaction the page hands it)
//      finalize a Bronze job and are paid; W's authority withdraws W's
//      earnings.
//   2. A and B paused; natives N0 and N1 start: the committee is W, N0,
//      N1 (mixed) and agrees; a paused worker takes no seat.
//   3. A, B and N0 take a long job; the tabs A and B are closed while they
//      run it: they are penalized only after the deadline and replaced (W
//      and N1 come back), and the job finalizes.
//   4. W is misled: its relay serves wrong bytes, then another job's
//      bundle, then its RPC drops. Each time W says so in an event, its
//      seat stays silent (no seal), and N0 and N1 finalize the job.
//
// Every process started here is stopped by its PID. Prints a summary line
// per phase and `test result:`; exits 1 on the first failure.

import { spawn, execFile } from "node:child_process";
import { createServer, request } from "node:http";
import { createServer as netServer } from "node:net";
import { generateKeyPairSync, sign as edSign, createPublicKey } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, deadline } from "./lib.mjs";

const [edgerun, jobsDir] = process.argv.slice(2);
if (!edgerun || !jobsDir) {
  console.error("usage: node e2e.mjs <edgerun binary> <target>/jobs");
  process.exit(2);
}
deadline(900, "browser e2e");

const home = mkdtempSync(join(tmpdir(), "edgerun-e2e-"));
const children = [];
let browser = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const say = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`, ...a);

async function cleanup() {
  await browser?.close().catch(() => {});
  for (const c of children) {
    try {
      process.kill(c.pid, "SIGTERM");
    } catch {}
  }
  await sleep(500);
  for (const c of children) {
    try {
      process.kill(c.pid, "SIGKILL");
    } catch {}
  }
}

function fail(message) {
  throw new Error(message);
}

function assert(cond, message) {
  if (!cond) fail(message);
}

const freePort = () =>
  new Promise((ok) => {
    const s = netServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

// --- the stack -------------------------------------------------------------

const rpcPort = await freePort();
let relayPort = await freePort();
while (relayPort === rpcPort || relayPort === rpcPort + 1) relayPort = await freePort();
const RPC = `http://127.0.0.1:${rpcPort}`;
const RELAY = `http://127.0.0.1:${relayPort}`;
// Slots of 100 ms; a committee has 150 slots (15 s) to submit; workers not
// heard from for 6 s are not drawn.
const SUBMIT_WINDOW = 150;

function start(args, log) {
  const out = openSync(join(home, log), "a");
  const child = spawn(edgerun, ["--home", home, "--rpc", RPC, "--relay", RELAY, ...args], {
    stdio: ["ignore", out, out],
  });
  children.push(child);
  return child;
}

function stop(child) {
  try {
    process.kill(child.pid, "SIGTERM");
  } catch {}
}

function cli(args) {
  return new Promise((ok, ko) =>
    execFile(edgerun, ["--home", home, "--rpc", RPC, "--relay", RELAY, ...args], { timeout: 60_000 }, (e, out, err) =>
      e ? ko(new Error(`edgerun ${args.join(" ")}: ${err || e.message}`)) : ok(out),
    ),
  );
}

async function rpc(method, params = []) {
  const res = await fetch(RPC, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) fail(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function until(what, seconds, probe) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const got = await probe().catch(() => null);
    if (got) return got;
    if (Date.now() > end) fail(`${what}: not within ${seconds} s`);
    await sleep(250);
  }
}

// --- proxies: one relay and one RPC per page --------------------------------

/// A loopback proxy to `target`; `proxy.mode` decides what it does with a
/// request (`pass` forwards everything).
async function proxy(target, name) {
  const p = { mode: "pass", seen: 0, held: [] };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const mode = p.mode;
    if (mode === "drop" && req.method === "POST") {
      // The RPC drops: the connection dies without an answer.
      p.seen++;
      req.socket.destroy();
      return;
    }
    const bundle = req.method === "GET" && req.url.startsWith("/v1/bundles/");
    const up = request(
      `${target}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      async (upRes) => {
        const parts = [];
        for await (const c of upRes) parts.push(c);
        let out = Buffer.concat(parts);
        if (bundle && upRes.statusCode === 200 && mode === "wrong-bytes") {
          p.seen++;
          out = Buffer.from(out);
          out[out.length >> 1] ^= 0x5a;
        }
        if (bundle && upRes.statusCode === 200 && mode === "hold") {
          // The download never finishes (until the tab goes away).
          p.seen++;
          p.held.push(res);
          return;
        }
        if (bundle && upRes.statusCode === 200 && mode === "other-bundle") {
          p.seen++;
          out = p.otherBundle;
        }
        const headers = { ...upRes.headers, "content-length": String(out.length) };
        delete headers["transfer-encoding"];
        delete headers["content-encoding"];
        res.writeHead(upRes.statusCode, headers).end(out);
      },
    );
    up.on("error", (e) => res.writeHead(502).end(String(e)));
    up.end(body);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  p.url = `http://127.0.0.1:${server.address().port}`;
  p.close = () => {
    for (const r of p.held) r.destroy();
    server.closeAllConnections?.();
    server.close();
  };
  p.name = name;
  return p;
}

// --- a volunteer page ---------------------------------------------------------

async function volunteer(name, register) {
  const relay = await proxy(RELAY, `${name}-relay`);
  const rpcProxy = await proxy(RPC, `${name}-rpc`);
  const page = await browser.newPage();
  page.on("pageerror", (e) => say(`${name}: page error: ${e.message}`));
  await page.goto(`${relay.url}/worker/?rpc=${encodeURIComponent(rpcProxy.url)}&register=${register}&trace`);
  await page.getByLabel("CPU cap").selectOption("100");
  await page.getByRole("button", { name: "Start" }).click();
  const v = { name, page, relay, rpc: rpcProxy, closed: false };
  pages.push(v);
  v.events = async () =>
    (await page.getByRole("list", { name: "Progress" }).locator("li").allTextContents()).map((t) => JSON.parse(t));
  v.started = await until(`${name} starts`, 60, async () => (await v.events()).find((e) => e.type === "started"));
  v.address = v.started.worker;
  say(`${name}: worker ${v.address} on the ${v.started.engine} engine`);
  return v;
}

async function clickPause(v, want) {
  await v.page.getByRole("button", { name: want }).click();
}

// --- the wallet (played by this script) ---------------------------------------

function walletKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d, "base64url");
  const pub = Buffer.from(jwk.x, "base64url");
  return { privateKey, pub, seed, address: base58(pub) };
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes) {
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

/// Adds the wallet's signature (the fee payer's, first) to a wire
/// transaction and sends it.
async function walletSignAndSend(wallet, base64) {
  const wire = Buffer.from(base64, "base64");
  const count = wire[0];
  assert(count < 128 && count >= 1, "a transaction with 1..127 signatures");
  const message = wire.subarray(1 + 64 * count);
  // The fee payer is the first account key: after the header (3 bytes) and
  // the key count (1 byte below 128).
  const feePayer = message.subarray(4, 36);
  assert(Buffer.compare(feePayer, wallet.pub) === 0, "the wallet pays the registration's fee");
  edSign(null, message, wallet.privateKey).copy(wire, 1);
  return rpc("sendTransaction", [wire.toString("base64"), { encoding: "base64", preflightCommitment: "confirmed" }]);
}

// --- jobs ------------------------------------------------------------------------

async function post(wasm, inputText, fuel) {
  const input = join(home, `input-${Date.now()}`);
  writeFileSync(input, inputText);
  const out = await cli(["post", "--wasm", join(jobsDir, `${wasm}.wasm`), "--input", input, "--fuel", String(fuel), "--json"]);
  return JSON.parse(out);
}

const status = async (job) => JSON.parse(await cli(["status", job, "--json"]));

async function finalized(job, seconds) {
  return until(`job ${job.slice(0, 8)} finalizes`, seconds, async () => {
    const s = await status(job);
    if (s.status === "Cancelled") fail(`job ${job} was cancelled`);
    return s.status === "Finalized" ? s : null;
  });
}

const stakeOf = async (address) => JSON.parse(await cli(["stake", "show", address, "--json"]).catch(() => "null"));

/// Events of a page after the `from`-th.
async function eventsSince(v, from) {
  return (await v.events()).slice(from);
}

const report = {};
const pages = [];
let passed = 0;
async function phase(name, body) {
  say(`== ${name}`);
  await body();
  passed++;
  say(`ok: ${name}`);
}

try {
  // The stack: chain, relay (sponsoring volunteers), scheduler; no workers.
  const up = start(
    ["up", "--rpc-port", String(rpcPort), "--relay-port", String(relayPort), "--slot-ms", "100", "--worker-keys", "2",
      "--workers", "0", "--online-within-s", "6", "--submit-window-slots", String(SUBMIT_WINDOW)],
    "up.log",
  );
  await until("edgerun up serves /v1/info and /worker/", 180, async () => {
    if (up.exitCode !== null) fail(`edgerun up exited (${up.exitCode}); see ${home}/up.log:\n${readFileSync(join(home, "up.log"), "utf8")}`);
    const info = await fetch(`${RELAY}/v1/info`);
    const page = await fetch(`${RELAY}/worker/`);
    return info.ok && page.ok && (await info.json()).program_id;
  });
  say(`stack up: rpc ${RPC}, relay ${RELAY}, home ${home}`);
  browser = await chromium();
  say(`${browser.version}`);

  const A = await volunteer("A", "sponsor");
  const B = await volunteer("B", "sponsor");
  const W = await volunteer("W", "wallet");
  const byAddress = (addr) => [A, B, W].find((v) => v.address === addr)?.name ?? (natives[addr] ?? addr);
  const natives = {};

  await phase("1. two sponsored tabs and one wallet-backed tab finalize a Bronze job and are paid", async () => {
    // W asks for a wallet; the wallet (this script) funds its stake.
    await until("W asks for a wallet", 30, async () => (await W.events()).find((e) => e.type === "needs-wallet"));
    const sponsored = await until("A is sponsored", 60, async () => (await A.events()).find((e) => e.type === "registered"));
    const wallet = walletKey();
    await rpc("requestAirdrop", [wallet.address, 10_000_000_000]);
    await until("the wallet is funded", 30, async () => (await rpc("getBalance", [wallet.address, { commitment: "confirmed" }])).value > 0);
    const tx = await W.page.evaluate(
      ([a, l]) => window.volunteer.registrationTransaction(a, l),
      [wallet.address, sponsored.stake_lamports],
    );
    await walletSignAndSend(wallet, tx);
    const reg = await until("W is registered with the wallet as authority", 60, async () =>
      (await W.events()).find((e) => e.type === "registered"),
    );
    assert(reg.authority === wallet.address, `W's authority is the wallet (got ${reg.authority})`);
    for (const v of [A, B]) {
      const r = await until(`${v.name} is registered`, 60, async () => (await v.events()).find((e) => e.type === "registered"));
      assert(r.sponsored && r.authority !== v.address, `${v.name} is sponsored by the operator`);
    }
    // All three beat; the scheduler draws exactly them.
    await sleep(4000);
    const job = await post("json-redact", readFileSync(new URL("../../tests/vectors/src/inputs/redact-profile.json", import.meta.url)), 500_000_000);
    say(`job ${job.job_id} posted (${job.tier}, committee ${job.committee})`);
    const s = await finalized(job.job_id, 120);
    const committee = s.committee.map((c) => byAddress(c.worker));
    assert(["A", "B", "W"].every((n) => committee.includes(n)), `the committee is A, B, W (got ${committee})`);
    assert(s.settlement.paid.length >= 2, "at least a quorum is paid");
    for (const v of [A, B, W]) {
      const won = s.settlement.paid.find((p) => p.to === v.address);
      if (!won) continue;
      const e = await until(`${v.name} hears it was paid`, 30, async () =>
        (await v.events()).find((x) => x.type === "paid" && x.job === job.job_id),
      );
      assert(e.lamports === won.lamports, `${v.name}'s paid event says ${e.lamports}, the chain ${won.lamports}`);
      await until(`${v.name}'s page shows its earnings`, 10, async () =>
        Number(await v.page.getByLabel("Earned").textContent()) === won.lamports,
      );
    }
    const wPaid = s.settlement.paid.find((p) => p.to === W.address);
    assert(wPaid, "W's seal matched (a winner)");
    // W's authority withdraws the earnings.
    const keyFile = join(home, "wallet.json");
    writeFileSync(keyFile, JSON.stringify([...wallet.seed, ...wallet.pub]));
    const before = (await rpc("getBalance", [wallet.address, { commitment: "confirmed" }])).value;
    const stakeBefore = await stakeOf(W.address);
    await cli(["stake", "withdraw", W.address, String(wPaid.lamports), "--keypair", keyFile]);
    const after = (await rpc("getBalance", [wallet.address, { commitment: "confirmed" }])).value;
    const stakeAfter = await stakeOf(W.address);
    const fee = wPaid.lamports - (after - before);
    assert(fee >= 0 && fee <= 10_000, `the authority received W's earnings less the fee (got ${after - before} of ${wPaid.lamports})`);
    if (stakeBefore && stakeAfter) {
      assert(stakeBefore.total_lamports - stakeAfter.total_lamports === wPaid.lamports, "the stake fell by what was withdrawn");
    }
    report.phase1 = { job: job.job_id, committee, paid: s.settlement.paid.map((p) => ({ ...p, to: byAddress(p.to) })), withdrawn: wPaid.lamports, fee };
    say(JSON.stringify(report.phase1));
  });

  let N0, N1;
  await phase("2. a paused tab takes no seat; a mixed committee (two native, one browser) agrees", async () => {
    await clickPause(A, "Pause");
    await clickPause(B, "Pause");
    // N1 submits 40 slots (4 s) after it is seated, so the quorum is the
    // browser and a native (natives hear of a seat at once; a tab polls).
    N0 = start(["worker", "--keypair", join(home, "keys/worker-0.json")], "n0.log");
    N1 = start(["worker", "--keypair", join(home, "keys/worker-1.json"), "--submit-after-slots", "40"], "n1.log");
    for (const i of [0, 1]) {
      const key = JSON.parse(readFileSync(join(home, `keys/worker-${i}.json`), "utf8"));
      natives[base58(Buffer.from(key.slice(32, 64)))] = `N${i}`;
    }
    // Past the online window: A and B are no longer drawn; N0 and N1 are.
    await sleep(8000);
    const online = await until("N0 and N1 are online", 60, async () => {
      const o = await (await fetch(`${RELAY}/v1/workers/online?within_s=6`)).json();
      const list = JSON.stringify(o);
      return Object.keys(natives).every((a) => list.includes(a)) && !list.includes(A.address) && !list.includes(B.address) ? o : null;
    });
    const job = await post("compress-hash", "edgerun ".repeat(4096), 500_000_000);
    say(`job ${job.job_id} posted`);
    const s = await finalized(job.job_id, 120);
    const committee = s.committee.map((c) => byAddress(c.worker));
    assert(!committee.includes("A") && !committee.includes("B"), `paused tabs took no seat (committee ${committee})`);
    assert(committee.includes("W") && committee.includes("N0") && committee.includes("N1"), `the committee is W, N0, N1 (got ${committee})`);
    const paid = s.settlement.paid.map((p) => byAddress(p.to));
    assert(paid.includes("W") && paid.includes("N0"), `the browser and a native formed the quorum (paid ${paid})`);
    assert(s.settlement.slashed.length === 0 && s.settlement.penalized.length === 0, "nobody was slashed or penalized");
    // (Paid means its seal, blake3(output_hash || worker), matched the
    // revealed output hash: the browser and the native computed the same.)
    stop(N1);
    report.phase2 = { job: job.job_id, committee, paid: s.settlement.paid.map((p) => ({ ...p, to: byAddress(p.to) })), online: online.length ?? online };
    say(JSON.stringify(report.phase2));
  });

  await phase("3. tabs closed mid-seat are penalized after the deadline, replaced, and the job finalizes", async () => {
    // Online: A, B, N0.
    await clickPause(A, "Resume");
    await clickPause(B, "Resume");
    await clickPause(W, "Pause");
    await sleep(8000);
    const marks = { A: (await A.events()).length, B: (await B.events()).length };
    // A and B get their seats but their bundle downloads hang: they are
    // mid-seat (holding it, nothing submitted) when their tabs close.
    A.relay.mode = B.relay.mode = "hold";
    A.relay.seen = B.relay.seen = 0;
    const job = await post("cpu-loop", "2000000", 2_000_000_000);
    say(`job ${job.job_id} posted`);
    const seated = await until("the committee is A, B, N0", 60, async () => {
      const s = await status(job.job_id);
      return s.committee.length === 3 ? s : null;
    });
    const committee = seated.committee.map((c) => byAddress(c.worker));
    assert(["A", "B", "N0"].every((n) => committee.includes(n)), `committee A, B, N0 (got ${committee})`);
    const firstDeadline = seated.deadline_slot;
    await Promise.all(
      [A, B].map(async (v) => {
        await until(`${v.name} fetches the job's bundle`, 60, async () => v.relay.seen > 0);
        const submitted = (await eventsSince(v, marks[v.name])).some((e) => e.type === "submitted");
        assert(!submitted, `${v.name} had not submitted when closed`);
        await v.page.close();
        v.closed = true;
        say(`${v.name} closed mid-seat`);
      }),
    );
    const mid = await status(job.job_id);
    assert(mid.current_slot < firstDeadline, `the tabs closed before the deadline (slot ${mid.current_slot} < ${firstDeadline})`);
    // W and N1 come back to take the vacated seats.
    await clickPause(W, "Resume");
    N1 = start(["worker", "--keypair", join(home, "keys/worker-1.json")], "n1.log");
    const s = await finalized(job.job_id, 180);
    const final = s.committee.map((c) => byAddress(c.worker));
    const penalized = s.settlement.penalized.map((p) => ({ ...p, worker: byAddress(p.worker) }));
    for (const n of ["A", "B"]) {
      const p = penalized.find((x) => x.worker === n);
      assert(p, `${n} was penalized (penalized: ${JSON.stringify(penalized)})`);
      assert(p.slot > firstDeadline, `${n} was penalized at slot ${p.slot}, after the deadline ${firstDeadline}`);
      assert(!final.includes(n), `${n} was replaced`);
    }
    assert(final.includes("N0"), "N0 kept its seat");
    report.phase3 = { job: job.job_id, first: committee, final, deadline: firstDeadline, penalized, paid: s.settlement.paid.map((p) => ({ ...p, to: byAddress(p.to) })) };
    say(JSON.stringify(report.phase3));
  });

  await phase("4. bad input: wrong bytes, another job's bundle, a dropped RPC: a clear event and a silent seat", async () => {
    // Online: W, N0, N1. N1 again submits 40 slots (4 s) after it is
    // seated: W's seat is silent in every case, so N0 and N1 are the
    // quorum, and without the delay they could close the round before the
    // tab (which polls) has looked at its seat at all.
    stop(N1);
    N1 = start(["worker", "--keypair", join(home, "keys/worker-1.json"), "--submit-after-slots", "40"], "n1.log");
    await sleep(8000);
    W.relay.otherBundle = Buffer.from(await (await fetch(`${RELAY}/v1/bundles/${(await status(report.phase1.job)).bundle_hash}`)).arrayBuffer());
    const cases = [
      { mode: "wrong-bytes", via: W.relay, expect: (e) => e.type === "refused" && /hashes to/.test(e.reason) },
      { mode: "other-bundle", via: W.relay, expect: (e) => e.type === "refused" && /hashes to/.test(e.reason) },
      { mode: "drop", via: W.rpc, expect: (e) => (e.type === "error" || e.type === "stalled") && /rpc|fetch|network|connection/i.test(e.message ?? e.error) },
    ];
    report.phase4 = [];
    for (const [i, c] of cases.entries()) {
      const mark = (await W.events()).length;
      c.via.mode = c.mode;
      c.via.seen = 0;
      const job = await post("cpu-loop", String(1_000_000 + i), 2_000_000_000);
      say(`${c.mode}: job ${job.job_id} posted`);
      const seated = await until("the committee is W, N0, N1", 60, async () => {
        const s = await status(job.job_id);
        return s.committee.length === 3 ? s : null;
      });
      const committee = seated.committee.map((x) => byAddress(x.worker));
      assert(committee.includes("W"), `W holds a seat (committee ${committee})`);
      const event = await until(`W says what went wrong (${c.mode})`, 60, async () =>
        (await eventsSince(W, mark)).find(c.expect),
      );
      const s = await finalized(job.job_id, 120);
      c.via.mode = "pass";
      const seat = s.committee.find((x) => x.worker === W.address);
      assert(seat && seat.seal === null, `W's seat is silent (${JSON.stringify(seat)})`);
      const wrong = (await eventsSince(W, mark)).filter((e) => e.type === "submitted" && e.job === job.job_id);
      assert(wrong.length === 0, "W submitted nothing");
      assert(s.settlement.slashed.length === 0, "nobody was slashed");
      assert(c.via.seen > 0, `the proxy misled W (${c.mode})`);
      report.phase4.push({ mode: c.mode, job: job.job_id, event, paid: s.settlement.paid.map((p) => byAddress(p.to)) });
      say(JSON.stringify(report.phase4.at(-1)));
    }
  });

  say("report", JSON.stringify(report));
  console.log(`test result: ok. ${passed} passed; 0 failed`);
  await cleanup();
  rmSync(home, { recursive: true, force: true });
  process.exit(0);
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  // What each open page last said.
  for (const v of pages) {
    if (v.closed) continue;
    const events = await v.events().catch(() => []);
    const trace = await v.page.evaluate(() => window.lastTrace).catch((e) => String(e));
    console.error(`${v.name} (${v.address}), now ${Date.now()}, loop last at ${JSON.stringify(trace)}, last events:`);
    for (const ev of events.slice(-20)) console.error(`  ${JSON.stringify(ev).slice(0, 400)}`);
  }
  console.error(`logs in ${home}`);
  console.log(`test result: FAILED. ${passed} passed; 1 failed`);
  await cleanup();
  process.exit(1);
}
