// Edge workers (worker-web/edge/worker.mjs in standalone workerd) against
// a real local stack, end to end:
//
//   node worker-web/tests/edge-e2e.mjs <edgerun binary> <target>/jobs <target>/worker-web
//
// `edgerun up --workers 0` (chain, relay, scheduler), then edge workers
// E0..E2, each its own workerd process with its key as a binding, ticked
// from here twice a second (as `edgerun up --edge` and a Cron Trigger do):
//
//   1. a Bronze job whose committee is edge workers only finalizes and
//      pays them;
//   2. a mixed committee — one native, one browser tab (Chromium), one edge
//      worker — finalizes one job with nobody slashed: every seal submitted
//      matches the revealed output;
//   3. two edge workers killed mid-seat (workerd stopped by PID) are
//      penalized only after the deadline and replaced;
//   4. an edge worker killed mid-seat and restarted before its deadline
//      resumes the seat and submits once.
//
// Prints a line per phase and `test result:`; exits 1 on the first failure.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chromium, deadline } from "./lib.mjs";
import { assert, phases, localStack, say, sleep, until } from "./stack.mjs";
import { runModules, startWorkerd } from "./workerd.mjs";

const [edgerun, jobsDir, build] = process.argv.slice(2);
if (!edgerun || !jobsDir || !build) {
  console.error("usage: node edge-e2e.mjs <edgerun binary> <target>/jobs <target>/worker-web");
  process.exit(2);
}
deadline(900, "edge e2e");

const stack = await localStack(edgerun, jobsDir, "edge-e2e");
const MAX_FUEL = 1_900_000_000;
const edges = [];
let browser = null;
const report = {};
const { phase, ok, failed } = phases();

/// An edge worker with `<home>/keys/<key>.json`, ticked every 500 ms while
/// `ticking`.
async function edgeWorker(name, key) {
  const token = randomBytes(16).toString("hex");
  const e = { name, key, token, ticking: true, events: [], errors: [], address: stack.keyAddress(key) };
  e.boot = async () => {
    e.workerd = await startWorkerd(runModules(build, "worker.mjs"), {
      EDGERUN_WORKER_KEY: readFileSync(stack.keyPath(key), "utf8").trim(),
      EDGERUN_TICK_TOKEN: token,
      EDGERUN_RELAY: stack.RELAY,
      EDGERUN_RPC: stack.RPC,
      EDGERUN_STAKE_LAMPORTS: "2000000000",
      EDGERUN_MAX_FUEL: String(MAX_FUEL),
    });
    e.alive = true;
  };
  e.kill = async () => {
    e.alive = false;
    await e.workerd.stop();
  };
  await e.boot();
  (async () => {
    while (!e.done) {
      if (e.ticking && e.alive) {
        try {
          const res = await fetch(`${e.workerd.url}/tick`, {
            method: "POST",
            headers: { "x-edgerun-tick": token },
            signal: AbortSignal.timeout(120_000),
          });
          const body = await res.json();
          if (body.error) e.errors.push(body.error);
          for (const ev of body.events ?? []) e.events.push({ ...ev, pid: e.workerd.pid });
        } catch (err) {
          if (e.alive) e.errors.push(String(err));
        }
      }
      await sleep(500);
    }
  })();
  edges.push(e);
  say(`${name}: edge worker ${e.address} (workerd pid ${e.workerd.pid})`);
  return e;
}

const online = async () => {
  const o = await (await fetch(`${stack.RELAY}/v1/workers/online?within_s=6`)).json();
  return new Set(o.workers.map((w) => w.address));
};


try {
  await stack.up(["--slot-ms", "100", "--worker-keys", "6", "--workers", "0", "--online-within-s", "6", "--submit-window-slots", "300"]);
  say(`stack up: rpc ${stack.RPC}, relay ${stack.RELAY}, home ${stack.home}`);
  const kinds = {};
  const who = (addr) => kinds[addr] ?? addr;
  const [E0, E1, E2] = [await edgeWorker("E0", "worker-0"), await edgeWorker("E1", "worker-1"), await edgeWorker("E2", "worker-2")];
  for (const e of [E0, E1, E2]) kinds[e.address] = `${e.name} (edge)`;

  await phase("1. a committee of edge workers only finalizes a Bronze job and is paid", async () => {
    await until("E0, E1, E2 are staked and online", 120, async () => {
      const o = await online();
      return [E0, E1, E2].every((e) => o.has(e.address));
    });
    const job = await stack.post("json-redact", readFileSync(new URL("../../tests/vectors/src/inputs/redact-profile.json", import.meta.url)), 500_000_000);
    say(`job ${job.job_id} posted (${job.tier}, committee ${job.committee})`);
    const s = await stack.finalized(job.job_id, 180);
    const committee = s.committee.map((c) => who(c.worker));
    assert(s.committee.every((c) => [E0, E1, E2].some((e) => e.address === c.worker)), `edge workers only (got ${committee})`);
    assert(s.settlement.paid.length >= 2 && s.settlement.slashed.length === 0, "a quorum of edge workers paid, nobody slashed");
    for (const e of [E0, E1, E2]) {
      const ran = e.events.find((x) => x.type === "ran");
      assert(!ran || ran.engine === "wasmi", `${e.name} ran on wasmi-in-wasm`);
    }
    report.edgeOnly = { job: job.job_id, committee, paid: s.settlement.paid.map((p) => ({ to: who(p.to), lamports: p.lamports })) };
    say(JSON.stringify(report.edgeOnly));
  });

  let N;
  await phase("2. a mixed committee (native, browser, edge) agrees on one job", async () => {
    E1.ticking = false;
    E2.ticking = false;
    // N waits 8 slots before it submits, so the slower seats (a tab polls,
    // an edge worker is ticked) still submit before the reveal.
    N = stack.start(["worker", "--keypair", stack.keyPath("worker-3"), "--submit-after-slots", "8"], "n.log");
    kinds[stack.keyAddress("worker-3")] = "N (native)";
    browser = await chromium();
    const page = await browser.newPage();
    await page.goto(`${stack.RELAY}/worker/?rpc=${encodeURIComponent(stack.RPC)}`);
    await page.getByLabel("CPU cap").selectOption("100");
    await page.getByRole("button", { name: "Start" }).click();
    const started = await until("the tab starts", 60, async () => {
      const list = await page.getByRole("list", { name: "Progress" }).locator("li").allTextContents();
      return list.map((t) => JSON.parse(t)).find((e) => e.type === "started");
    });
    kinds[started.worker] = "B (browser)";
    await until("E0, N and B are the online workers", 90, async () => {
      const o = await online();
      return o.size === 3 && o.has(E0.address) && o.has(started.worker) && o.has(stack.keyAddress("worker-3"));
    });
    const job = await stack.post("compress-hash", "edge ".repeat(2048), 500_000_000);
    say(`job ${job.job_id} posted`);
    const s = await stack.finalized(job.job_id, 180);
    const committee = s.committee.map((c) => who(c.worker));
    assert(["edge", "browser", "native"].every((k) => committee.some((c) => c.includes(k))), `native, browser and edge seats (got ${committee})`);
    assert(s.settlement.slashed.length === 0, "nobody slashed");
    for (const c of s.committee) assert(c.seal === null || c.winner, `${who(c.worker)}'s seal matched the revealed output`);
    const winnerKinds = new Set(s.committee.filter((c) => c.winner).map((c) => who(c.worker).split(" ")[1]));
    assert(winnerKinds.size >= 2, `seals of at least two kinds of worker matched (${[...winnerKinds]})`);
    report.mixed = {
      job: job.job_id,
      seats: s.committee.map((c) => ({ seat: who(c.worker), sealed: c.seal !== null, winner: c.winner })),
      paid: s.settlement.paid.map((p) => ({ to: who(p.to), lamports: p.lamports })),
    };
    say(JSON.stringify(report.mixed));
    await page.close();
  });

  await phase("3. edge workers killed mid-seat are penalized after the deadline and replaced", async () => {
    // Online: E0, E1, N; E2 and the tab are not.
    E1.ticking = true;
    await sleep(8000);
    const job = await stack.post("cpu-loop", "12000000", MAX_FUEL);
    say(`job ${job.job_id} posted`);
    const seated = await until("the committee is E0, E1, N", 60, async () => {
      const st = await stack.status(job.job_id);
      return st.committee.length === 3 ? st : null;
    });
    const first = seated.committee.map((c) => who(c.worker));
    assert(first.some((c) => c.startsWith("E0")) && first.some((c) => c.startsWith("E1")), `E0 and E1 seated (got ${first})`);
    // Kill both while they run the job: a tick runs it for about 6 s
    // (0.8 G fuel at ~130 k fuel per ms), and reports only when it ends.
    await sleep(2000);
    for (const e of [E0, E1]) {
      await e.kill();
      say(`${e.name} killed mid-seat (pid ${e.workerd.pid})`);
    }
    const mid = await stack.status(job.job_id);
    assert(mid.current_slot < seated.deadline_slot, "killed before the deadline");
    for (const e of [E0, E1]) {
      const seat = mid.committee.find((c) => c.worker === e.address);
      assert(seat && seat.seal === null, `${e.name} had not submitted when killed`);
    }
    // E2 and a second native, N2, come back to take the vacated seats
    // (a worker that sat in the job is never reseated in it).
    E2.ticking = true;
    stack.start(["worker", "--keypair", stack.keyPath("worker-4")], "n2.log");
    kinds[stack.keyAddress("worker-4")] = "N2 (native)";
    const s = await stack.finalized(job.job_id, 240);
    const penalized = s.settlement.penalized.map((p) => ({ ...p, worker: who(p.worker) }));
    for (const n of ["E0", "E1"]) {
      const p = penalized.find((x) => x.worker.startsWith(n));
      assert(p, `${n} was penalized (${JSON.stringify(penalized)})`);
      assert(p.slot > seated.deadline_slot, `${n} penalized at slot ${p.slot}, after the deadline ${seated.deadline_slot}`);
    }
    const final = s.committee.map((c) => who(c.worker));
    assert(!final.some((c) => c.startsWith("E0") || c.startsWith("E1")), `E0 and E1 replaced (final ${final})`);
    // E0 back for the next phase.
    await E0.boot();
    report.killed = { job: job.job_id, first, final, deadline: seated.deadline_slot, penalized, paid: s.settlement.paid.map((p) => ({ to: who(p.to), lamports: p.lamports })) };
    say(JSON.stringify(report.killed));
  });

  await phase("4. an edge worker restarted mid-seat resumes and submits once", async () => {
    // Online: E0 (restarted above), E2 and N, slowed so that E0's seal
    // counts (N submits 280 slots after it is seated); N2 stops. The
    // window is 300 slots (30 s): an edge worker runs this job in about
    // 6 s on an idle machine, and must still finish on a loaded one.
    E1.done = true;
    for (const c of stack.children.slice(1)) stack.stop(c);
    N = stack.start(["worker", "--keypair", stack.keyPath("worker-3"), "--submit-after-slots", "280"], "n.log");
    await sleep(8000);
    const job = await stack.post("cpu-loop", "12000001", MAX_FUEL);
    say(`job ${job.job_id} posted`);
    await until("E0 is seated", 60, async () => (await stack.status(job.job_id)).committee.some((c) => c.worker === E0.address));
    await sleep(2000);
    const killedPid = E0.workerd.pid;
    await E0.kill();
    const mid = await stack.status(job.job_id);
    assert(mid.committee.find((c) => c.worker === E0.address)?.seal === null, "E0 had not submitted when killed");
    await E0.boot();
    say(`E0 restarted (pid ${killedPid} -> ${E0.workerd.pid})`);
    const s = await stack.finalized(job.job_id, 240);
    const seat = s.committee.find((c) => c.worker === E0.address);
    const submitted = E0.events.filter((x) => (x.type === "submitted" || x.type === "revealed") && x.job === job.job_id);
    assert(seat, "E0 kept its seat");
    assert(!s.settlement.penalized.some((p) => p.worker === E0.address), "E0 was not penalized");
    assert(submitted.every((x) => x.pid !== killedPid), "the killed process submitted nothing");
    assert(seat.seal !== null && seat.winner, "the restarted E0 submitted, and its seal matched");
    assert(submitted.filter((x) => x.type === "submitted").length <= 1, "one submission");
    report.restarted = { job: job.job_id, sealed: seat.seal !== null, winner: seat.winner, submissions: submitted.length };
    say(JSON.stringify(report.restarted));
  });

  say("report", JSON.stringify(report));
  ok();
} catch (e) {
  for (const x of edges) {
    console.error(`${x.name} (${x.address}) errors: ${JSON.stringify(x.errors.slice(-5))}`);
    for (const ev of x.events.slice(-12)) console.error(`  ${JSON.stringify(ev).slice(0, 300)}`);
  }
  failed(e, stack.home);
} finally {
  for (const e of edges) {
    e.done = true;
    if (e.alive) await e.kill();
  }
  await browser?.close().catch(() => {});
  await stack.stopAll();
}
process.exit(process.exitCode ?? 0);
