import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
const [relay, rpc, home] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
const pages = [];
for (let slot = 0; slot < 3; slot++) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log(`page ${slot} error:`, e.message));
  await page.goto(`${relay}/worker/?rpc=${rpc}&slot=${slot}`);
  await page.getByRole("button", { name: "Start" }).click();
  pages.push(page);
}
const log = async (p) => (await p.getByRole("list", { name: "Progress" }).locator("li").allTextContents()).map((t) => JSON.parse(t));
for (let i = 0; i < 60; i++) {
  await pages[0].waitForTimeout(500);
  const ready = await Promise.all(pages.map(async (p) => (await log(p)).some((e) => e.type === "stake")));
  if (ready.every(Boolean)) break;
}
console.log("all three registered; posting");
const out = execFileSync("target/debug/edgerun", ["--home", home, "--rpc", rpc, "--relay", relay, "post",
  "--wasm", "target/jobs/json-redact.wasm", "--input", "tests/vectors/src/inputs/redact-profile.json", "--fuel", "500000000", "--json"]).toString();
const job = JSON.parse(out).job_id;
console.log("job", job);
for (let i = 0; i < 120; i++) {
  await pages[0].waitForTimeout(500);
  const st = JSON.parse(execFileSync("target/debug/edgerun", ["--home", home, "--rpc", rpc, "--relay", relay, "status", job, "--json"]).toString());
  if (st.status === "Finalized" || st.status === "Cancelled") { console.log(JSON.stringify(st.settlement ?? st.status)); break; }
}
for (const [i, p] of pages.entries()) console.log(i, JSON.stringify(await log(p)));
await browser.close();
