// Shared pieces of the worker-web browser tests: a static server on
// loopback, real browsers (Debian chromium through playwright-core, Debian
// firefox-esr through puppeteer-core over WebDriver BiDi) whose processes
// are stopped by PID, and a deadline for the whole script.

import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/// Serves `roots` (`{"/prefix/": dir}`) on 127.0.0.1 at a free port;
/// `headers(path)` adds response headers. Resolves to `{url, close}`.
export async function serve(roots, headers = () => ({})) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const prefix = Object.keys(roots)
      .filter((p) => path.startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    const root = resolve(roots[prefix]);
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root)) {
      res.writeHead(403).end("outside the root");
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
        ...headers(path),
      });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

const CHROMIUM = process.env.EDGERUN_CHROMIUM ?? "/usr/bin/chromium";
const FIREFOX = process.env.EDGERUN_FIREFOX ?? "/usr/bin/firefox-esr";

/// Kills a browser's process group leader by PID if it is still there.
function killPid(pid) {
  if (!pid) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

/// Debian chromium through playwright-core: `{browser, pid, newPage, close}`.
/// Pages are playwright pages.
export async function chromium() {
  const { chromium } = await import("playwright-core");
  const server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 60_000,
  });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    name: "chromium",
    version: browser.version(),
    pid,
    newPage: async () => {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      return page;
    },
    /// A playwright context with `options` (viewport, javaScriptEnabled…).
    newContext: async (options) => {
      const context = await browser.newContext(options);
      context.setDefaultTimeout(60_000);
      return context;
    },
    close: async () => {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
      killPid(pid);
    },
  };
}

/// Debian firefox-esr through puppeteer-core over WebDriver BiDi. Pages are
/// puppeteer pages.
export async function firefox() {
  const puppeteer = (await import("puppeteer-core")).default;
  const browser = await puppeteer.launch({
    browser: "firefox",
    protocol: "webDriverBiDi",
    executablePath: FIREFOX,
    headless: true,
    timeout: 60_000,
    // A private, throwaway profile: no updates, no telemetry, loopback only.
    extraPrefsFirefox: { "network.proxy.allow_hijacking_localhost": false },
  });
  const pid = browser.process()?.pid;
  return {
    name: "firefox",
    version: await browser.version(),
    pid,
    newPage: async () => {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      return page;
    },
    close: async () => {
      await browser.close().catch(() => {});
      killPid(pid);
    },
  };
}

/// Ends the process with a clear message if the script outlives `seconds`.
export function deadline(seconds, what) {
  setTimeout(() => {
    console.error(`${what}: still running after ${seconds} s; giving up`);
    process.exit(1);
  }, seconds * 1000).unref();
}
