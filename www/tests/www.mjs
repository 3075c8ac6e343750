// The website in real Chromium, as a visitor uses it, against
// `edgerun up --workers 3` (which serves it at /, /trust, /pricing):
//
//   node www/tests/www.mjs <edgerun binary> <target>/jobs <target>/www <target>/www-quotes.json
//
//   1. "Run a job" on the landing page, with no wallet, for both demo
//      workloads: every step (posted → assigned → sealed → revealed →
//      finalized) is ticked, the output shows and its BLAKE3 is verified
//      in the browser; the portal link opens the job;
//   2. the demo route refuses a workload it does not have (404) and, past
//      its budget (`--demo-budget-sol` fits two jobs), refuses with 429
//      and a message; the operator spent at most the budget;
//   3. the pricing calculator's figures equal edgerun_protocol's for a
//      table of escrows (www-quotes.json, written by the build from the
//      protocol), and a tier the escrow does not buy is explained;
//   4. the trust page shows this chain's own numbers (GET /v1/config);
//   5. every page reads with JavaScript off, renders at phone width with
//      no horizontal scrolling, and every link on it resolves;
//   screenshots of each page at desktop and phone widths into docs/img/.

import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, deadline } from "../../worker-web/tests/lib.mjs";
import { assert, phases, localStack, say, until } from "../../worker-web/tests/stack.mjs";

const [edgerun, jobsDir, build, quotesFile] = process.argv.slice(2);
if (!edgerun || !jobsDir || !build || !quotesFile) {
  console.error("usage: node www.mjs <edgerun binary> <target>/jobs <target>/www <target>/www-quotes.json");
  process.exit(2);
}
deadline(420, "www e2e");
const repo = new URL("../..", import.meta.url).pathname;
const shots = join(repo, "docs/img");
mkdirSync(shots, { recursive: true });
const quotes = JSON.parse(readFileSync(quotesFile, "utf8"));

const stack = await localStack(edgerun, jobsDir, "www");
let browser = null;
const { phase, ok, failed } = phases();

const sol = (l) => {
  const n = BigInt(l);
  const s = `${n / 1_000_000_000n}.${(n % 1_000_000_000n).toString().padStart(9, "0")}`;
  return `${s.replace(/0+$/, "").replace(/\.$/, "")} SOL`;
};

async function page(width = 1280, height = 900, options = {}) {
  const context = await browser.newContext({ viewport: { width, height }, ...options });
  const p = await context.newPage();
  p.on("pageerror", (e) => say(`page error: ${e.message}`));
  p.on("console", (m) => m.type() === "error" && say(`console: ${m.text().slice(0, 300)}`));
  return p;
}

const BUDGET_SOL = 0.05;

try {
  await stack.up(["--slot-ms", "100", "--workers", "3", "--www", build, "--demo-budget-sol", String(BUDGET_SOL)]);
  const SITE = stack.RELAY;
  await until("the three workers are online", 60, async () => {
    const o = await (await fetch(`${SITE}/v1/workers/online?within_s=30`)).json();
    return o.workers.length === 3;
  });
  const customer = stack.keyAddress("customer");
  const balance = async () => (await stack.rpc("getBalance", [customer, { commitment: "confirmed" }])).value;
  const before = await balance();
  browser = await chromium();

  await phase("1. Run a job on the landing page: both workloads finalize and their outputs verify in the browser", async () => {
    const p = await page();
    await p.goto(`${SITE}/`);
    await p.getByRole("heading", { name: "Verifiable compute, paid per job." }).waitFor();
    for (const [label, shot] of [[/JSON redaction/, "www-landing-desktop.png"], [/Compress and hash/, null]]) {
      await p.getByRole("radio", { name: label }).check();
      await p.getByRole("button", { name: "Run a job" }).click();
      const steps = p.getByRole("list", { name: "Progress" }).getByRole("listitem");
      await until(`every step is ticked (${label})`, 90, async () => {
        const t = await steps.allTextContents();
        const err = await p.locator("#demo-error").textContent();
        if (err) throw new Error(err);
        return t.length === 5 && t.every((s) => s.startsWith("✓")) ? t : null;
      });
      const verdict = p.getByRole("status", { name: "Verification" });
      await until("the output is verified", 30, async () => /^Verified in your browser/.test(await verdict.textContent()));
      say(await verdict.textContent());
      const output = await p.getByLabel("Output").textContent();
      assert(output.length > 0, "the output is shown");
      const href = await p.getByRole("link", { name: "Open this job in the portal" }).getAttribute("href");
      assert(/^\/app\/jobs\/[0-9a-f]{64}$/.test(href), `a link to the job's page (${href})`);
      const view = await (await fetch(`${SITE}/v1/jobs/${href.split("/").pop()}`)).json();
      assert(view.status === "Finalized" && view.client === customer, `the operator posted it and it finalized (${view.status}, ${view.client})`);
      say(`${label}: job ${view.job_id}`);
      if (shot) await p.screenshot({ path: join(shots, shot), fullPage: true });
    }
    await p.getByRole("link", { name: "Open this job in the portal" }).click();
    await p.waitForURL(/\/app\/jobs\/[0-9a-f]{64}$/);
    await until("the portal shows the job Finalized", 30, async () => (await p.getByLabel("Status").textContent()) === "Finalized");
    await p.context().close();
  });

  await phase("2. the demo route refuses other workloads, and refuses past its budget; the operator spent at most the budget", async () => {
    const other = await fetch(`${SITE}/v1/demo/evil`, { method: "POST", body: "\0asm" });
    const body = await other.json();
    assert(other.status === 404 && body.code === "demo_not_found" && /json-redact/.test(body.message), `an unknown workload is refused (${other.status} ${JSON.stringify(body)})`);
    // Two jobs fit the 0.05 SOL budget; the third does not.
    const third = await fetch(`${SITE}/v1/demo/json-redact`, { method: "POST" });
    const refused = await third.json();
    assert(third.status === 429 && /budget/.test(refused.message), `past the budget: 429 with a message (${third.status} ${JSON.stringify(refused)})`);
    say(refused.message);
    const spent = before - (await balance());
    assert(spent <= BUDGET_SOL * 1e9, `the operator spent ${spent} lamports, within the ${BUDGET_SOL} SOL budget`);
    say(`the operator spent ${sol(spent)} of a ${BUDGET_SOL} SOL budget on two demo jobs`);
    // The landing page says so in words.
    const p = await page();
    await p.goto(`${SITE}/`);
    await p.getByRole("button", { name: "Run a job" }).click();
    const alert = p.getByRole("alert").filter({ hasText: "budget" });
    await alert.waitFor({ timeout: 20_000 });
    await p.context().close();
  });

  await phase("3. the pricing calculator gives edgerun_protocol's figures for a table of escrows", async () => {
    const config = await (await fetch(`${SITE}/v1/config`)).json();
    assert(config.protocol_fee_bps === quotes.protocol_fee_bps && config.min_job_fee_lamports === quotes.min_job_fee_lamports,
      `the chain's fee is the one the table was computed with (${JSON.stringify(config)})`);
    const p = await page();
    await p.goto(`${SITE}/pricing`);
    await p.getByRole("table", { name: "Tiers" }).waitFor();
    const tiers = await p.getByRole("table", { name: "Tiers" }).getByRole("row").allTextContents();
    assert(tiers.length === 5, `four tiers (${tiers.length - 1})`);
    const quote = p.getByRole("table", { name: "Your job" });
    const tierNames = ["Bronze", "Silver", "Gold", "Gold+"];
    for (const q of quotes.quotes) {
      await p.getByRole("combobox", { name: "Tier" }).selectOption(tierNames[q.tier]);
      await p.getByRole("textbox", { name: "Escrow (SOL)" }).fill(sol(q.escrow).replace(" SOL", ""));
      await p.getByRole("textbox", { name: "Priority fee (SOL)" }).fill(sol(q.priority ?? 0).replace(" SOL", ""));
      await p.getByRole("button", { name: "Calculate" }).click();
      await quote.waitFor();
      const cell = async (name) => quote.getByRole("row", { name }).getByRole("cell").textContent();
      const got = {
        pays: await cell("You pay"),
        deposits: await cell("refundable deposits"),
        all: await cell("if all agree"),
        quorum: await cell("if only a quorum agrees"),
        treasury: await cell("The treasury keeps"),
      };
      for (const k of Object.keys(got)) {
        assert(got[k] === sol(q[k]), `escrow ${q.escrow} at ${tierNames[q.tier]}: ${k} is ${got[k]}, the protocol says ${sol(q[k])}`);
      }
    }
    say(`${quotes.quotes.length} escrows: the calculator equals the protocol`);
    await p.getByRole("combobox", { name: "Tier" }).selectOption("Silver");
    await p.getByRole("textbox", { name: "Escrow (SOL)" }).fill("0.01");
    await p.getByRole("button", { name: "Calculate" }).click();
    const alert = p.getByRole("alert").filter({ hasText: "buys Bronze" });
    await alert.waitFor();
    say(await alert.textContent());
    await p.getByRole("combobox", { name: "Tier" }).selectOption("Bronze");
    await p.getByRole("button", { name: "Calculate" }).click();
    await quote.waitFor();
    await p.screenshot({ path: join(shots, "www-pricing-desktop.png"), fullPage: true });
    await p.context().close();
  });

  await phase("4. the trust page shows this chain's own numbers", async () => {
    const config = await (await fetch(`${SITE}/v1/config`)).json();
    const p = await page();
    await p.goto(`${SITE}/trust`);
    await p.getByRole("heading", { name: /Trust/ }).first().waitFor();
    await until("the chain's values replace the defaults", 20, async () =>
      (await p.getByText("this chain's values").count()) > 0);
    const text = await p.locator("main").textContent();
    assert(text.includes(`${config.submit_window_slots} slots`), `the chain's submit window (${config.submit_window_slots}) is shown`);
    assert(text.includes(sol(config.non_response_slash_lamports)), "the chain's penalty is shown");
    const committees = await p.getByRole("table", { name: "Committees" }).getByRole("row").allTextContents();
    assert(committees.length === 5, "a row per tier");
    for (const line of ["Inputs and outputs are public", "runtime_id"]) {
      assert(text.includes(line), `the page says what is not guaranteed (${line})`);
    }
    await p.screenshot({ path: join(shots, "www-trust-desktop.png"), fullPage: true });
    await p.context().close();
  });

  await phase("5. every page reads without JavaScript, fits a phone, and every link resolves", async () => {
    const pages = [["/", "landing"], ["/trust", "trust"], ["/pricing", "pricing"]];
    const links = new Set();
    for (const [path, name] of pages) {
      const off = await page(1280, 900, { javaScriptEnabled: false });
      await off.goto(`${SITE}${path}`);
      const h1 = await off.getByRole("heading", { level: 1 }).textContent();
      assert(h1.length > 5, `${path} has its heading without JavaScript (${h1})`);
      for (const href of await off.locator("a[href]").evaluateAll((as) => as.map((a) => a.href))) links.add(href);
      await off.context().close();
      const phone = await page(390, 844);
      await phone.goto(`${SITE}${path}`);
      await phone.getByRole("heading", { level: 1 }).waitFor();
      const [scroll, inner] = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert(scroll <= inner, `${path} fits a phone (${scroll} > ${inner})`);
      await phone.screenshot({ path: join(shots, `www-${name}-phone.png`), fullPage: true });
      await phone.context().close();
    }
    for (const href of links) {
      const res = await fetch(href.split("#")[0]);
      assert(res.ok, `${href} resolves (${res.status})`);
    }
    say(`${links.size} links resolve`);
  });

  ok();
} catch (e) {
  failed(e, stack.home);
} finally {
  await browser?.close().catch(() => {});
  await stack.stopAll();
}
process.exit(process.exitCode ?? 0);
