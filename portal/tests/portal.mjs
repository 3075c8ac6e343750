// The portal in real Chromium, as a person uses it, against
// `edgerun up --workers 3` (which serves it at /app/):
//
//   node portal/tests/portal.mjs <edgerun binary> <target>/jobs <target>/portal
//
//   1. the project's test wallet registers through the Wallet Standard
//      before the page loads; the portal lists it; a rejected connect says
//      so; a connect shows the wallet's address;
//   2. a posted job opened from the Explorer's recent jobs: its page
//      follows it live (the relay's event stream) to Finalized, shows the
//      timeline read from the chain (posted → seeded → assigned → sealed →
//      revealed → published → finalized), "Verify committee" recomputes
//      the committee in the browser from the seed and the snapshot and says
//      it matches, the settlement lists who was paid, and "Verify output"
//      checks the output's BLAKE3 in the browser against the revealed hash;
//   3. the job's page loads from its own URL (shareable, reloadable);
//   4. an output tampered with at the relay is flagged, not accepted;
//   5. a customer picks json-redact, simulates it in the browser (fuel and
//      expected output hash), sees the price of each tier from the chain's
//      Config and the wallet's balance, and posts at Bronze (the relay
//      prepares post_job, the portal checks it, the wallet signs, the chain
//      takes it): a rejected signature posts nothing, a double click signs
//      once; the job finalizes with the simulated hash, the committee
//      verifies, the output verifies;
//   6. an invalid module is refused by the runtime's validator in the
//      browser and nothing is uploaded; an uploaded module simulates like
//      its template; a tier the wallet cannot pay is refused before any
//      upload or signature;
//   6b. the chain's RPC, then the relay, stop answering: each is said;
//   7. the client cancels a job no committee can take (Silver with three
//      workers): refunded; My jobs lists the wallet's jobs from the chain;
//   8. on a stack of one (slow) native worker, two tabs volunteer from the
//      Volunteer page (one sponsored, one with the wallet as stake
//      authority, which then withdraws): each completes a seat of a Bronze
//      job and is paid;
//   screenshots of every page at desktop and phone widths into docs/img/.
//
// Every control is found by its role and accessible name.

import { generateKeyPairSync } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, deadline } from "../../worker-web/tests/lib.mjs";
import { assert, phases, base58, localStack, say, until } from "../../worker-web/tests/stack.mjs";

const [edgerun, jobsDir, build] = process.argv.slice(2);
if (!edgerun || !jobsDir || !build) {
  console.error("usage: node portal.mjs <edgerun binary> <target>/jobs <target>/portal");
  process.exit(2);
}
deadline(720, "portal e2e");
const repo = new URL("../..", import.meta.url).pathname;
const shots = join(repo, "docs/img");
mkdirSync(shots, { recursive: true });

const stack = await localStack(edgerun, jobsDir, "portal");
const stacks = [];
let browser = null;
const { phase, ok, failed } = phases();


// The test wallet's key: fixed for the run, made here.
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const pub = [...publicKey.export({ format: "der", type: "spki" }).subarray(12)];
const pkcs8 = [...privateKey.export({ format: "der", type: "pkcs8" })];
const walletArg = { name: "Phantom", address: base58(Buffer.from(pub)), publicKey: pub, pkcs8 };
const walletScript = readFileSync(new URL("./test-wallet.js", import.meta.url), "utf8");

async function page(width = 1280, height = 900) {
  const p = await browser.newPage();
  await p.setViewportSize({ width, height });
  await p.addInitScript(`(${walletScript})(${JSON.stringify(walletArg)})`);
  // What the page itself reports goes into the test's output.
  p.on("pageerror", (e) => say(`page error: ${e.message}`));
  p.on("console", (m) => m.type() === "error" && say(`console: ${m.text().slice(0, 300)}`));
  return p;
}

try {
  await stack.up(["--slot-ms", "100", "--workers", "3", "--portal", build]);
  const APP = `${stack.RELAY}/app/`;
  await until("the three workers are online", 60, async () => {
    const o = await (await fetch(`${stack.RELAY}/v1/workers/online?within_s=30`)).json();
    return o.workers.length === 3;
  });
  browser = await chromium();
  let job;

  await phase("1. the test wallet is listed; a rejected connect says so; a connect shows the address", async () => {
    const p = await page();
    await p.goto(APP);
    await p.getByRole("heading", { name: "Explorer" }).waitFor();
    const connect = p.getByRole("button", { name: "Connect Phantom" });
    await connect.waitFor();
    await p.evaluate(() => (window.__testWallet.rejectNext = true));
    await connect.click();
    const alert = p.getByRole("alert");
    await alert.waitFor();
    assert(/rejected/i.test(await alert.textContent()), `a rejection is explained (${await alert.textContent()})`);
    await connect.click();
    const address = p.getByRole("status", { name: "Connected address" }).or(p.getByLabel("Connected address"));
    await address.waitFor();
    assert((await address.textContent()) === walletArg.address, "the connected address is the wallet's");
    const calls = await p.evaluate(() => window.__testWallet.calls);
    assert(calls.join() === "connect,connect", `the wallet was asked twice (${calls})`);
    await p.getByRole("table", { name: "Workers online" }).waitFor();
    const rows = await p.getByRole("table", { name: "Workers online" }).getByRole("row").count();
    assert(rows === 4, `three workers online (rows ${rows})`);
    await p.close();
  });

  await phase("2. a job opened from the Explorer follows it live to Finalized; committee, settlement and output verify", async () => {
    job = await stack.post("json-redact", readFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json")), 500_000_000);
    say(`job ${job.job_id} posted`);
    const p = await page();
    await p.goto(APP);
    // The Explorer lists it among the recent jobs, read from the chain.
    const recent = p.getByRole("table", { name: "Recent jobs" });
    await recent.waitFor();
    await recent.getByRole("link", { name: job.job_id.slice(0, 16) }).click();
    await p.waitForURL(`**/app/jobs/${job.job_id}`);
    const status = p.getByLabel("Status");
    await until("the page shows Finalized", 60, async () => (await status.textContent()) === "Finalized");
    const seats = await p.getByRole("table", { name: "Committee" }).getByRole("row").count();
    assert(seats === 4, `three seats listed (rows ${seats})`);
    const steps = ["posted", "seeded", "assigned", "sealed", "revealed", "published", "finalized"];
    const timeline = await until("the timeline reaches finalized", 30, async () => {
      const t = await p.getByRole("list", { name: "Timeline" }).getByRole("listitem").allTextContents();
      return steps.every((s) => t.some((x) => x.startsWith(s))) ? t : null;
    });
    const order = steps.map((s) => timeline.findIndex((x) => x.startsWith(s)));
    assert(order.every((v, i) => i === 0 || v > order[i - 1]), `the timeline is in order (${timeline.join(" | ")})`);
    const view = await (await fetch(`${stack.RELAY}/v1/jobs/${job.job_id}`)).json();
    assert((await p.getByLabel("Seed").textContent()) === view.seed, "the page shows the on-chain seed");
    assert(/^[0-9a-f]{64}$/.test(await p.getByLabel("Snapshot hash").textContent()), "the page shows the snapshot hash");
    await p.getByRole("button", { name: "Verify committee" }).click();
    const verified = p.getByRole("status").filter({ hasText: "Committee verified" });
    await verified.waitFor({ timeout: 20_000 });
    say(await verified.textContent());
    const draws = await p.getByRole("table", { name: "Committee draws" }).getByRole("row").allTextContents();
    assert(draws.length === 2 && draws[1].includes("✓"), `one draw, recomputed to the same workers (${draws})`);
    const settlement = await p.getByRole("table", { name: "Settlement" }).getByRole("row").allTextContents();
    const winners = view.committee.filter((s) => s.winner).length;
    assert(settlement.filter((r) => r.includes("paid")).length === winners && settlement.some((r) => r.startsWith("treasury")),
      `the settlement lists ${winners} paid workers and the treasury (${settlement.join(" | ")})`);
    await p.getByRole("button", { name: "Verify output" }).click();
    const ok = p.getByRole("status").filter({ hasText: /^Verified:/ });
    await ok.waitFor();
    say(await ok.textContent());
    await p.screenshot({ path: join(shots, "portal-job-desktop.png"), fullPage: true });
    await p.goto(APP);
    await p.getByRole("table", { name: "Recent jobs" }).waitFor();
    await p.getByRole("table", { name: "Workers online" }).waitFor();
    await p.screenshot({ path: join(shots, "portal-explorer-desktop.png"), fullPage: true });
    await p.close();
  });

  await phase("3. a job's page loads from its own URL, at phone width too", async () => {
    const p = await page(390, 844);
    await p.goto(`${APP}jobs/${job.job_id}`);
    await until("Finalized from a direct link", 30, async () => (await p.getByLabel("Status").textContent()) === "Finalized");
    await p.screenshot({ path: join(shots, "portal-job-phone.png"), fullPage: true });
    await p.goto(APP);
    await p.getByRole("table", { name: "Recent jobs" }).waitFor();
    await p.screenshot({ path: join(shots, "portal-explorer-phone.png"), fullPage: true });
    // Not a job: said, not a blank page.
    await p.goto(`${APP}jobs/${"ab".repeat(32)}`);
    const alert = p.getByRole("alert");
    await alert.waitFor();
    assert(/not found/i.test(await alert.textContent()), `a missing job is said to be missing (${await alert.textContent()})`);
    await p.close();
  });

  await phase("4. an output tampered with at the relay is flagged, not accepted", async () => {
    // A job of its own, whose output nobody has read yet (the relay keeps
    // small objects it has served in memory, as they never change).
    const tampered = await stack.post("compress-hash", `portal ${Date.now()} `.repeat(64), 500_000_000);
    await stack.finalized(tampered.job_id, 60);
    const view = await (await fetch(`${stack.RELAY}/v1/jobs/${tampered.job_id}`)).json();
    const hash = view.winning_output_hash;
    const dir = join(stack.home, "relay/outputs");
    const file = readdirSync(dir).find((f) => f.startsWith(hash));
    assert(file, `the output is stored at the relay (${dir})`);
    writeFileSync(join(dir, file), '{"redacted": false, "ssn": "123-45-6789"}');
    const p = await page();
    await p.goto(`${APP}jobs/${tampered.job_id}`);
    await p.getByRole("button", { name: "Verify output" }).click();
    const alert = p.getByRole("alert").filter({ hasText: "Mismatch" });
    await alert.waitFor();
    say(await alert.textContent());
    await p.screenshot({ path: join(shots, "portal-job-tampered-desktop.png"), fullPage: true });
    assert((await p.getByRole("status").filter({ hasText: /^Verified:/ }).count()) === 0, "nothing says Verified");
    await p.close();
  });

  let posted;
  await phase("5. simulate json-redact, see the price and balance, post at Bronze from the wallet; it finalizes with the simulated hash", async () => {
    // The wallet's own SOL pays the escrow, the records deposit and the fee.
    await stack.rpc("requestAirdrop", [walletArg.address, 2_000_000_000]);
    await until("the wallet is funded", 30, async () => (await stack.rpc("getBalance", [walletArg.address])).value > 0);
    const p = await page();
    await p.goto(APP);
    await p.getByRole("button", { name: "Connect Phantom" }).click();
    await p.getByLabel("Connected address").waitFor();
    say("connected");
    await p.getByRole("link", { name: "Post a job" }).click();
    await p.getByRole("heading", { name: "Post a job" }).waitFor();
    await p.getByRole("radio", { name: /JSON redaction/ }).check();
    await p.getByRole("textbox", { name: "Fuel cap" }).fill("500000000");
    await p.getByRole("button", { name: "Check and simulate" }).click();
    const simulated = p.getByRole("status").filter({ hasText: "Simulated in this browser" });
    await simulated.waitFor({ timeout: 30_000 });
    const expected = await p.getByLabel("Expected output hash").textContent();
    const fuel = Number(await p.getByLabel("Fuel used").textContent());
    say(`${await simulated.textContent()} expected ${expected}`);
    assert(/^[0-9a-f]{64}$/.test(expected) && fuel > 0, `a hash and the fuel (${expected}, ${fuel})`);
    // The price of each tier, from the chain's Config.
    const price = await p.getByRole("table", { name: "Price" }).getByRole("row").allTextContents();
    assert(price.length === 5 && ["Bronze", "Silver", "Gold", "Gold+"].every((t) => price.some((r) => r.startsWith(t))),
      `a price row per tier (${price.join(" | ")})`);
    assert(/0\.01 SOL/.test(price.find((r) => r.startsWith("Bronze"))), `Bronze escrows 0.01 SOL (${price[1]})`);
    assert(/2 SOL/.test(await p.getByLabel("Balance").textContent()), "the wallet's balance is shown");
    await p.getByRole("radio", { name: /^Bronze/ }).check();
    // A priority fee rides with the escrow (the scheduler seats it first).
    await p.getByRole("textbox", { name: "Priority fee (SOL)" }).fill("0.001");
    await p.evaluate(() => (window.__testWallet.rejectNext = true));
    await p.getByRole("button", { name: "Post job" }).click();
    const rejected = p.getByRole("alert").filter({ hasText: "rejected" });
    await rejected.waitFor({ timeout: 20_000 }).catch(async (e) => {
      const texts = await p.locator("p").allTextContents();
      throw new Error(`no rejection shown; the page says: ${texts.join(" | ")} (${e.message.split("\n")[0]})`);
    });
    assert(p.url().endsWith("/app/post"), `still on the Post page (${p.url()})`);
    await p.screenshot({ path: join(shots, "portal-post-desktop.png"), fullPage: true });
    const before = (await p.evaluate(() => window.__testWallet.calls)).length;
    const button = p.getByRole("button", { name: "Post job" });
    await button.dblclick();
    await p.waitForURL(/\/app\/jobs\/[0-9a-f]{64}$/, { timeout: 60_000 }).catch(async () => {
      const texts = await p.locator("main p").allTextContents();
      throw new Error(`the job's page did not open; the page says: ${texts.join(" | ")}`);
    });
    const id = p.url().split("/").pop();
    posted = id;
    const calls = (await p.evaluate(() => window.__testWallet.calls)).slice(before);
    assert(calls.join() === "signTransaction", `one signature for a double click (${calls})`);
    say(`job ${id} posted from the wallet`);
    await until("the wallet's job finalizes", 90, async () => (await p.getByLabel("Status").textContent()) === "Finalized");
    const view = await (await fetch(`${stack.RELAY}/v1/jobs/${id}`)).json();
    assert(view.client === walletArg.address, `the job's client is the wallet (${view.client})`);
    assert(view.winning_output_hash === expected, `the committee's hash is the simulated one (${view.winning_output_hash})`);
    // The priority fee went to the treasury with the protocol fee: 2.5% of
    // 0.01 SOL (0.00025) + 0.001 (the division leaves no remainder).
    const settlement = await until("the settlement is read from chain", 30, async () => {
      const rows = await p.getByRole("table", { name: "Settlement" }).getByRole("row").allTextContents().catch(() => []);
      return rows.find((r) => r.startsWith("treasury"));
    });
    assert(settlement.endsWith("0.00125 SOL"), `the treasury took the fee and the priority fee (${settlement})`);
    await p.getByRole("status").filter({ hasText: "equals the one your simulation gave" }).waitFor();
    await p.getByRole("button", { name: "Verify committee" }).click();
    await p.getByRole("status").filter({ hasText: "Committee verified" }).waitFor({ timeout: 20_000 });
    await p.getByRole("button", { name: "Verify output" }).click();
    await p.getByRole("status").filter({ hasText: /^Verified:/ }).waitFor();
    const phone = await page(390, 844);
    await phone.goto(`${APP}post`);
    await phone.getByRole("table", { name: "Price" }).waitFor();
    await phone.screenshot({ path: join(shots, "portal-post-phone.png"), fullPage: true });
    await phone.close();
    await p.close();
  });

  /// A connected page on `path`.
  async function connected(path, width, height) {
    const p = await page(width, height);
    await p.goto(APP + path);
    await p.getByRole("button", { name: "Connect Phantom" }).click();
    await p.getByLabel("Connected address").waitFor();
    return p;
  }
  const bundles = () => readdirSync(join(stack.home, "relay/bundles")).length;

  await phase("6. an invalid module is refused in the browser; an uploaded module simulates like its template; an unaffordable tier is refused", async () => {
    const p = await connected("post");
    await p.getByRole("radio", { name: "My own module and input" }).check();
    await p.getByLabel("WebAssembly module").setInputFiles({ name: "broken.wasm", mimeType: "application/wasm", buffer: Buffer.from("\0asm\x01\0\0\0 not a module") });
    await p.getByLabel("Input file").setInputFiles({ name: "input.json", mimeType: "application/json", buffer: Buffer.from("{}") });
    await p.getByRole("button", { name: "Check and simulate" }).click();
    const invalid = p.getByRole("alert").filter({ hasText: "Invalid module" });
    await invalid.waitFor({ timeout: 20_000 });
    say(await invalid.textContent());
    const stored = bundles();
    const calls = (await p.evaluate(() => window.__testWallet.calls)).length;
    await p.getByRole("button", { name: "Post job" }).click();
    await until("the post is refused as invalid", 20, async () => (await p.getByRole("alert").allTextContents()).some((t) => t.includes("nothing was uploaded") || t.includes("Nothing was uploaded")));
    assert(bundles() === stored, "nothing was uploaded");
    assert((await p.evaluate(() => window.__testWallet.calls)).length === calls, "nothing was signed");
    await p.screenshot({ path: join(shots, "portal-post-invalid-desktop.png"), fullPage: true });
    // The template's own wasm, uploaded: the same bundle, the same result.
    await p.getByLabel("WebAssembly module").setInputFiles(join(jobsDir, "json-redact.wasm"));
    await p.getByLabel("Input file").setInputFiles(join(repo, "tests/vectors/src/inputs/redact-profile.json"));
    await p.getByRole("textbox", { name: "Fuel cap" }).fill("500000000");
    await p.getByRole("button", { name: "Check and simulate" }).click();
    await p.getByRole("status").filter({ hasText: "Simulated in this browser" }).waitFor({ timeout: 30_000 });
    const hash = await p.getByLabel("Expected output hash").textContent();
    const view = await (await fetch(`${stack.RELAY}/v1/jobs/${posted}`)).json();
    assert(hash === view.winning_output_hash, `the uploaded module simulates to the template's hash (${hash})`);
    // Gold+ escrows 10 SOL: more than the wallet holds.
    await p.getByRole("radio", { name: /^Gold\+/ }).check();
    await p.getByRole("button", { name: "Post job" }).click();
    const poor = p.getByRole("alert").filter({ hasText: "Insufficient balance" });
    await poor.waitFor({ timeout: 20_000 });
    say(await poor.textContent());
    assert(bundles() === stored, "nothing was uploaded for a job the wallet cannot pay");
    assert((await p.evaluate(() => window.__testWallet.calls)).length === calls, "nothing was signed");
    await p.close();
  });

  await phase("6b. the chain's RPC or the relay down: said, with what to do", async () => {
    const p = await connected("post");
    // The RPC stops answering (requests to it fail at the network).
    await p.route(`${stack.RPC}/**`, (r) => r.abort("connectionrefused"));
    await p.route(stack.RPC, (r) => r.abort("connectionrefused"));
    await p.reload();
    const rpcDown = p.getByRole("alert").filter({ hasText: "did not answer" }).first();
    await rpcDown.waitFor({ timeout: 20_000 });
    say(await rpcDown.textContent());
    await p.unroute(`${stack.RPC}/**`);
    await p.unroute(stack.RPC);
    // The relay stops answering a job's page.
    await p.route("**/v1/jobs/**", (r) => r.abort("connectionrefused"));
    await p.goto(`${APP}jobs/${posted}`);
    const relayDown = p.getByRole("alert").filter({ hasText: "did not answer" }).first();
    await relayDown.waitFor({ timeout: 20_000 });
    say(await relayDown.textContent());
    await p.close();
  });

  await phase("7. the client cancels a job no committee can take, and My jobs lists the wallet's jobs", async () => {
    const p = await connected("post");
    await p.getByRole("radio", { name: /JSON redaction/ }).check();
    await p.getByRole("radio", { name: /^Silver/ }).check();
    const balance = (await stack.rpc("getBalance", [walletArg.address, { commitment: "confirmed" }])).value;
    await p.getByRole("button", { name: "Post job" }).click();
    await p.waitForURL(/\/app\/jobs\/[0-9a-f]{64}$/, { timeout: 60_000 });
    const id = p.url().split("/").pop();
    say(`Silver job ${id} posted; three workers cannot make a committee of five`);
    const cancel = p.getByRole("button", { name: "Cancel job" });
    await cancel.waitFor({ timeout: 20_000 });
    await cancel.click();
    await p.getByRole("status").filter({ hasText: "Cancelled: the escrow" }).waitFor({ timeout: 30_000 });
    await until("the page shows Cancelled", 30, async () => (await p.getByLabel("Status").textContent()) === "Cancelled");
    const settlement = await until("the refund is in the settlement", 30, async () => {
      const rows = await p.getByRole("table", { name: "Settlement" }).getByRole("row").allTextContents().catch(() => []);
      return rows.some((r) => r.includes("refunded")) ? rows : null;
    });
    say(settlement.join(" | "));
    const after = (await stack.rpc("getBalance", [walletArg.address, { commitment: "confirmed" }])).value;
    // The fees and the Job account's rent are the whole cost of a
    // cancelled job: the 0.1 SOL escrow and the records deposit came back.
    assert(balance - after < 20_000_000, `the escrow came back (${balance} → ${after})`);
    await p.screenshot({ path: join(shots, "portal-job-cancelled-desktop.png"), fullPage: true });
    await p.getByRole("link", { name: "My jobs" }).click();
    const mine = p.getByRole("table", { name: "My jobs" });
    await mine.waitFor({ timeout: 20_000 });
    const rows = await mine.getByRole("row").allTextContents();
    assert(rows.some((r) => r.startsWith(id.slice(0, 16)) && r.includes("Cancelled")), `the cancelled job is listed (${rows.join(" | ")})`);
    assert(rows.some((r) => r.startsWith(posted.slice(0, 16)) && r.includes("Finalized")), "the finalized job is listed");
    assert(rows.length === 3, `only the wallet's two jobs (${rows.length - 1})`);
    await p.screenshot({ path: join(shots, "portal-mine-desktop.png"), fullPage: true });
    const phone = await connected("mine", 390, 844);
    await phone.getByRole("table", { name: "My jobs" }).waitFor({ timeout: 20_000 });
    await phone.screenshot({ path: join(shots, "portal-mine-phone.png"), fullPage: true });
    await phone.close();
    await p.close();
  });
  await browser.close();
  browser = null;
  await stack.stopAll();

  await phase("8. two tabs volunteer from the Volunteer page (sponsored, and the wallet as stake authority) and each completes a seat", async () => {
    const vstack = await localStack(edgerun, jobsDir, "portal-volunteer");
    stacks.push(vstack);
    await vstack.up(["--slot-ms", "100", "--workers", "0", "--worker-keys", "1", "--online-within-s", "6",
      "--submit-window-slots", "300", "--portal", build]);
    // The native worker submits 60 slots (6 s) after it is seated, so the
    // two tabs make the quorum: with a fast native worker, one tab's seal
    // could come after the round closed (released, unpaid, as designed).
    vstack.start(["worker", "--keypair", vstack.keyPath("worker-0"), "--submit-after-slots", "60"], "native.log");
    browser = await chromium();
    const VAPP = `${vstack.RELAY}/app/`;
    await vstack.rpc("requestAirdrop", [walletArg.address, 5_000_000_000]);
    await until("the wallet is funded", 30, async () => (await vstack.rpc("getBalance", [walletArg.address])).value > 0);
    const tab = async (mode) => {
      const p = await page();
      await p.goto(`${VAPP}volunteer`);
      await p.getByRole("heading", { name: "Volunteer" }).waitFor();
      if (mode === "wallet") {
        await p.getByRole("button", { name: "Connect Phantom" }).click();
        await p.getByLabel("Connected address").waitFor();
        await p.getByRole("radio", { name: /Use my wallet as stake authority/ }).check();
        await until("the suggested stake is read from the Config", 20, async () => (await p.getByRole("textbox", { name: "Stake in SOL" }).inputValue()) !== "");
      } else {
        await p.getByRole("radio", { name: /Sponsored start/ }).check();
      }
      await p.getByRole("combobox", { name: "CPU cap" }).selectOption("100");
      await p.getByRole("button", { name: "Start" }).click();
      return p;
    };
    const sponsored = await tab("sponsor");
    const wallet = await tab("wallet");
    for (const [name, p] of [["sponsored", sponsored], ["wallet", wallet]]) {
      await until(`the ${name} tab takes seats`, 90, async () =>
        (await p.getByRole("list", { name: "Progress" }).getByRole("listitem").allTextContents()).some((t) => t.startsWith("Taking seats")));
    }
    const stakeBefore = await wallet.getByRole("status", { name: "Stake", exact: true }).textContent();
    assert(stakeBefore.includes(walletArg.address), `the wallet is the stake's authority (${stakeBefore})`);
    const j = await vstack.post("json-redact", readFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json")), 500_000_000);
    say(`job ${j.job_id} posted to a committee of one native worker and two tabs`);
    await vstack.finalized(j.job_id, 120);
    for (const [name, p] of [["sponsored", sponsored], ["wallet", wallet]]) {
      await until(`the ${name} tab completed a seat and was paid`, 60, async () =>
        Number(await p.getByLabel("Seats completed").textContent()) >= 1 && (await p.getByLabel("Earned").textContent()) !== "0 SOL",
      ).catch(async (e) => {
        const progress = await p.getByRole("list", { name: "Progress" }).getByRole("listitem").allTextContents();
        throw new Error(`${e.message}; its progress, newest first: ${progress.join(" | ")}`);
      });
      say(`${name}: earned ${await p.getByLabel("Earned").textContent()}; stake ${await p.getByRole("status", { name: "Stake", exact: true }).textContent()}`);
    }
    await wallet.screenshot({ path: join(shots, "portal-volunteer-desktop.png"), fullPage: true });
    // The wallet takes its unlocked stake back.
    const before = (await vstack.rpc("getBalance", [walletArg.address, { commitment: "confirmed" }])).value;
    await wallet.getByRole("button", { name: "Pause" }).click();
    await wallet.getByRole("button", { name: "Withdraw to my wallet" }).click();
    const withdrew = wallet.getByRole("status").filter({ hasText: "Withdrew" });
    await withdrew.waitFor({ timeout: 30_000 });
    say(await withdrew.textContent());
    const after = (await vstack.rpc("getBalance", [walletArg.address, { commitment: "confirmed" }])).value;
    assert(after > before + 1_000_000_000, `the stake came back to the wallet (${before} → ${after})`);
    // The sponsored tab's stake is the relay operator's: no withdraw for it.
    assert((await sponsored.getByRole("button", { name: "Withdraw to my wallet" }).count()) === 0, "a sponsored tab offers no withdraw");
    const phone = await page(390, 844);
    await phone.goto(`${VAPP}volunteer`);
    await phone.getByRole("button", { name: "Start" }).waitFor();
    await phone.screenshot({ path: join(shots, "portal-volunteer-phone.png"), fullPage: true });
    await phone.close();
    for (const p of [sponsored, wallet]) {
      await p.getByRole("button", { name: "Stop" }).click();
      await p.close();
    }
  });

  ok();
} catch (e) {
  failed(e, stack.home);
} finally {
  await browser?.close().catch(() => {});
  for (const s of [stack, ...stacks]) await s.stopAll();
}
process.exit(process.exitCode ?? 0);
