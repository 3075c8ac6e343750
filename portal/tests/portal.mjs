// The portal in real Chromium, as a person uses it, against
// `edgerun up --workers 3` (which serves it at /app/):
//
//   node portal/tests/portal.mjs <edgerun binary> <target>/jobs <target>/portal
//
//   1. the project's test wallet registers through the Wallet Standard
//      before the page loads; the portal lists it; a rejected connect says
//      so; a connect shows the wallet's address;
//   2. a posted job opened from the Explorer by its id: its page follows
//      it live to Finalized, lists the committee, and "Verify output"
//      checks the output's BLAKE3 in the browser against the revealed hash;
//   3. the job's page loads from its own URL (shareable, reloadable);
//   4. an output tampered with at the relay is flagged, not accepted;
//   5. a customer posts a job from the wallet (the relay prepares post_job,
//      the wallet signs, the chain takes it): a rejected signature posts
//      nothing, a double click signs once, and the job finalizes;
//   6. screenshots at desktop and phone widths into docs/img/.
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
deadline(420, "portal e2e");
const repo = new URL("../..", import.meta.url).pathname;
const shots = join(repo, "docs/img");
mkdirSync(shots, { recursive: true });

const stack = await localStack(edgerun, jobsDir, "portal");
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
    await p.screenshot({ path: join(shots, "portal-explorer-desktop.png"), fullPage: true });
    await p.close();
  });

  await phase("2. a job opened from the Explorer follows it to Finalized and verifies its output", async () => {
    job = await stack.post("json-redact", readFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json")), 500_000_000);
    say(`job ${job.job_id} posted`);
    const p = await page();
    await p.goto(APP);
    await p.getByRole("textbox", { name: "Job id" }).fill(job.job_id);
    await p.getByRole("button", { name: "Open job" }).click();
    await p.waitForURL(`**/app/jobs/${job.job_id}`);
    const status = p.getByLabel("Status");
    await until("the page shows Finalized", 60, async () => (await status.textContent()) === "Finalized");
    const seats = await p.getByRole("table", { name: "Committee" }).getByRole("row").count();
    assert(seats === 4, `three seats listed (rows ${seats})`);
    const timeline = await p.getByRole("list", { name: "Timeline" }).getByRole("listitem").allTextContents();
    for (const step of ["posted", "quorum_reached", "output_published"]) {
      assert(timeline.some((t) => t.startsWith(step)), `the timeline has ${step} (${timeline})`);
    }
    await p.getByRole("button", { name: "Verify output" }).click();
    const ok = p.getByRole("status").filter({ hasText: "Verified" });
    await ok.waitFor();
    say(await ok.textContent());
    await p.screenshot({ path: join(shots, "portal-job-desktop.png"), fullPage: true });
    await p.close();
  });

  await phase("3. a job's page loads from its own URL, at phone width too", async () => {
    const p = await page(390, 844);
    await p.goto(`${APP}jobs/${job.job_id}`);
    await until("Finalized from a direct link", 30, async () => (await p.getByLabel("Status").textContent()) === "Finalized");
    await p.screenshot({ path: join(shots, "portal-job-phone.png"), fullPage: true });
    await p.goto(APP);
    await p.getByRole("heading", { name: "Explorer" }).waitFor();
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
    assert((await p.getByRole("status").filter({ hasText: "Verified" }).count()) === 0, "nothing says Verified");
    await p.close();
  });

  await phase("5. a customer posts a job from the wallet: a rejected signature posts nothing; a double click posts once", async () => {
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
    await p.getByRole("radio", { name: /^Bronze/ }).check();
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
    const calls = (await p.evaluate(() => window.__testWallet.calls)).slice(before);
    assert(calls.join() === "signTransaction", `one signature for a double click (${calls})`);
    say(`job ${id} posted from the wallet`);
    await until("the wallet's job finalizes", 90, async () => (await p.getByLabel("Status").textContent()) === "Finalized");
    const view = await (await fetch(`${stack.RELAY}/v1/jobs/${id}`)).json();
    assert(view.client === walletArg.address, `the job's client is the wallet (${view.client})`);
    await p.getByRole("button", { name: "Verify output" }).click();
    await p.getByRole("status").filter({ hasText: "Verified" }).waitFor();
    const phone = await page(390, 844);
    await phone.goto(`${APP}post`);
    await phone.getByRole("heading", { name: "Post a job" }).waitFor();
    await phone.screenshot({ path: join(shots, "portal-post-phone.png"), fullPage: true });
    await phone.close();
    await p.close();
  });

  ok();
} catch (e) {
  failed(e, stack.home);
} finally {
  await browser?.close().catch(() => {});
  await stack.stopAll();
}
process.exit(process.exitCode ?? 0);
