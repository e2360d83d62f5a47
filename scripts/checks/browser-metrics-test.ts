// Real-browser check of browser metrics (`npm run test:browser:metrics`): two real origins
// on 127.0.0.1, the Worker bundled by `wrangler deploy --dry-run` and run in Miniflare with
// IDENTITY_SECRET set, and Debian's chromium driven by playwright-core. A route with
// metricSources.inject serves an HTML page from a 127.0.0.1 origin through the Worker; the
// check asserts that the page gets the script tag once, the script loads (immutable, from
// its hashed path), and that a thrown error and a window.edgeCanary.track() call reach the
// Worker as beacons it accepts (204, counted as accepted in x-canary-beacon), attributed to
// the identity the Worker set. It reports the script's size (raw and gzip) and its run cost
// in Chromium: the page's ScriptDuration (CDP Performance.getMetrics) with the script
// injected, against the same page on a route without injection, over several loads.
// Cleans up chromium, workerd and the origins on success, failure, timeout and signals.
//
// Flags: --src <dir>  bundle the Worker from another checkout (default: this repository)
//        --loads <n>  page loads per arm for the run cost (default 15)
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import type { Browser, Page, Response as PwResponse } from "playwright-core";
import { METRICS_SCRIPT, METRICS_SCRIPT_HASH } from "../../src/edge/metrics-script.generated.js";
import { startOrigin, type OriginServer } from "../lib/origin-server.js";
import { startLocalWorker } from "../lib/local-worker.js";
import { median } from "../lib/median.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BASE = "/__canary";
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const DEADLINE_MS = 110_000;

const started = Date.now();
const log = (msg: string): void => console.log(`[browser-metrics +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const cleanups: Array<{ name: string; run: () => Promise<unknown> | unknown }> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await Promise.race([step.run(), sleep(10_000)]);
      } catch (e) {
        console.error(`cleanup "${step.name}" failed: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}

const METRICS = [
  { name: "js_error", kind: "rate-per-user", better: "lower", maxRelativeIncrease: 0.1 },
  { name: "checkout", kind: "conversion", better: "higher", maxRelativeDrop: 0.2 },
];

/** The page under test: a nonce'd inline script, a button that tracks a checkout, and one that throws. */
const PAGE = [
  "<!doctype html><html><head><title>shop</title>",
  '<script nonce="page-nonce">window.__page = 1;</script>',
  "</head><body><h1>shop</h1>",
  '<button id="buy" onclick="window.edgeCanary.track(\'checkout\')">buy</button>',
  "<button id=\"boom\" onclick=\"setTimeout(function () { throw new Error('canary broke'); })\">boom</button>",
  "</body></html>",
].join("");
const pagePath = (prefix: string): string => `/say/${prefix}/page?type=${encodeURIComponent("text/html; charset=utf-8")}&body=${encodeURIComponent(PAGE)}`;

async function startWorker(src: string, stable: string, canary: string): Promise<URL> {
  const route = (id: string, inject: boolean) => ({
    id,
    match: { pathPrefix: `/say/${id}` },
    stable: { origin: stable },
    canary: { origin: canary },
    release: "m1",
    weight: 50,
    metrics: METRICS,
    metricSources: { inject, beacon: true, webVitals: true, errors: true },
  });
  const worker = await startLocalWorker({
    srcDir: src,
    bindings: { ADMIN_TOKEN: "browser-metrics-token", ADMIN_BASE_PATH: BASE, CONFIG_REFRESH_MS: "1000", IDENTITY_SECRET: "browser-metrics-identity-secret" },
    config: { version: 1, sync: { intervalMs: 200 }, routes: [route("shop", true), route("plain", false)] },
  });
  cleanups.push({ name: "worker", run: () => worker.dispose() });
  return worker.url;
}

/** Beacons the page sends, with the Worker's answers. */
function watchBeacons(page: Page): Array<{ status: number; tally: string | null; body: string }> {
  const seen: Array<{ status: number; tally: string | null; body: string }> = [];
  page.on("response", (r: PwResponse) => {
    if (!r.url().endsWith(`${BASE}/beacon`)) return;
    seen.push({ status: r.status(), tally: r.headers()["x-canary-beacon"] ?? null, body: r.request().postData() ?? "" });
  });
  return seen;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** What the injected script does in a real page: loads once, reports a thrown error and a track() call. */
async function checkBeacons(browser: Browser, url: URL): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  const beacons = watchBeacons(page);
  const scriptResponse = page.waitForResponse((r) => r.url().includes(`${BASE}/m.${METRICS_SCRIPT_HASH}.js`));
  const first = await page.goto(new URL(pagePath("shop"), url).href);
  assert.equal(first?.status(), 200, "the page is served");
  const html = await first!.text();
  const tags = html.match(/<script src="\/__canary\/m\.[0-9a-f]{16}\.js"[^>]*>/g) ?? [];
  assert.equal(tags.length, 1, `the page has the script tag once: ${tags.join(" ")}`);
  assert.match(tags[0]!, /nonce="page-nonce"/, "the page's nonce is copied onto the tag");
  const script = await scriptResponse;
  assert.equal(script.status(), 200, "the script loads");
  assert.equal(script.headers()["cache-control"], "public, max-age=31536000, immutable");
  await page.waitForFunction(() => typeof (globalThis as unknown as { edgeCanary?: unknown }).edgeCanary === "object", undefined, { timeout: 5_000 });
  const cookie = (await context.cookies()).find((c) => c.name === "canary_id");
  assert.ok(cookie && /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}$/.test(cookie.value), "the Worker set a tagged identity cookie");
  log(`script loaded; identity ${cookie.value.slice(0, 8)}…, served by ${first!.headers()["x-canary-variant"]}`);

  await page.click("#boom");
  await page.click("#buy");
  await waitFor("the thrown error to reach the page", 5_000, () => (pageErrors.length > 0 ? true : undefined));
  // Hidden: the script flushes its batch at once (visibilitychange), as when the user switches tabs.
  await page.evaluate(() => {
    // Page code (Node's lib has no DOM types): the document as far as this needs it.
    const doc = (globalThis as unknown as { document: EventTarget }).document;
    Object.defineProperty(doc, "visibilityState", { value: "hidden", configurable: true });
    doc.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  });
  const hiddenAt = Date.now();
  // Well within the script's 5 s batch timer: the flush came from hiding the page.
  const accepted = await waitFor("the beacons to be answered", 2_000, () => {
    const all = beacons.flatMap((b) => (JSON.parse(b.body) as { events: Array<{ name: string }> }).events.map((e) => ({ ...b, name: e.name })));
    const names = new Set(all.map((e) => e.name));
    return names.has("js_error") && names.has("checkout") ? beacons : undefined;
  });
  for (const b of accepted) {
    assert.equal(b.status, 204, `the Worker accepts the beacon: ${b.body}`);
    assert.match(b.tally ?? "", /^accepted=[1-9]\d*, unknown=0, limited=0, forced=0$/, `every event counted as accepted: ${b.tally}`);
  }
  log(`beacons accepted ${Date.now() - hiddenAt} ms after the page was hidden: ${accepted.map((b) => `${b.status} [${b.tally}] ${b.body}`).join("; ")}`);
  await context.close();
}

/** ScriptDuration (s, CDP) of one load of `path` in a fresh context, after the load event and a settle. */
async function scriptDuration(browser: Browser, url: URL, path: string): Promise<number> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.goto(new URL(path, url).href, { waitUntil: "load" });
  await sleep(100);
  const { metrics } = (await cdp.send("Performance.getMetrics")) as { metrics: Array<{ name: string; value: number }> };
  await context.close();
  return metrics.find((m) => m.name === "ScriptDuration")!.value;
}

async function runCost(browser: Browser, url: URL, loads: number): Promise<void> {
  // One warm-up of each (the script into the HTTP cache, as for a returning user).
  await scriptDuration(browser, url, pagePath("shop"));
  await scriptDuration(browser, url, pagePath("plain"));
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < loads; i++) {
    on.push(await scriptDuration(browser, url, pagePath("shop")));
    off.push(await scriptDuration(browser, url, pagePath("plain")));
  }
  const ms = (s: number) => (s * 1000).toFixed(2);
  log(`run cost (CDP ScriptDuration per page load, median of ${loads}): injected ${ms(median(on))} ms, plain ${ms(median(off))} ms, difference ${ms(median(on) - median(off))} ms`);
}

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { src: { type: "string" }, loads: { type: "string", default: "15" } } });
  const src = resolve(values.src ?? root);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  const raw = Buffer.byteLength(METRICS_SCRIPT);
  log(`script m.${METRICS_SCRIPT_HASH}.js: ${raw} bytes, ${gzipSync(METRICS_SCRIPT, { level: 9 }).byteLength} bytes gzip`);

  const [stable, canary] = await Promise.all([startOrigin("stable"), startOrigin("canary")]);
  for (const o of [stable, canary] as OriginServer[]) cleanups.push({ name: `origin ${o.name}`, run: () => o.close() });
  const url = await startWorker(src, stable.url, canary.url);
  log(`worker on ${url.href}`);
  const { chromium } = await import("playwright-core");
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  cleanups.push({ name: "chromium", run: () => browser.close() });

  await checkBeacons(browser, url);
  await runCost(browser, url, Number(values.loads));
  // The rollback scenarios of issue #19 (a canary throwing JS errors rolled back on browser
  // evidence alone; a 20% conversion drop rolled back; identical arms not) need the
  // coordinator's per-user metric evidence and the engine's metric tests: they are added
  // here, as their own steps after checkBeacons, once those are on the branch.
}

let exitCode = 0;
const timer = setTimeout(() => {
  console.error(`[browser-metrics] FAILED: did not finish within ${DEADLINE_MS / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, DEADLINE_MS);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`[browser-metrics] ${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  });
}
try {
  await run();
  log("PASSED");
} catch (e) {
  exitCode = 1;
  console.error(`[browser-metrics] FAILED: ${(e as Error).stack ?? String(e)}`);
} finally {
  clearTimeout(timer);
  await cleanup();
}
process.exit(exitCode);
