import { chromium } from "playwright-core";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
const page = await browser.newPage();
page.on("console", (m) => console.log("console:", m.text()));
page.on("pageerror", (e) => console.log("pageerror:", e.message));
await page.goto("http://127.0.0.1:18080/worker/?rpc=http://127.0.0.1:18899");
await page.getByRole("button", { name: "Start" }).click();
for (let i = 0; i < 30; i++) {
  await page.waitForTimeout(1000);
  const items = await page.getByRole("list", { name: "Progress" }).locator("li").allTextContents();
  if (items.length) { console.log(items.join("\n")); if (items.some(t => t.includes("stake") || t.includes("error"))) break; }
}
await browser.close();
