// Real-browser test of the dashboard (`npm run test:browser`): two real origins on
// 127.0.0.1, the Worker bundled by `wrangler deploy --dry-run` and run in Miniflare with
// the bindings of wrangler.jsonc, background traffic from 200 sticky users, and Debian's
// chromium driven by playwright-core. It checks that the page is refused without a token,
// that the charts draw real data, and that a rollback clicked in the page reaches every
// user within one sync interval and shows in the audit log; a second route, whose plan
// starts with a shadow stage, shows its stages by label and the shadow panel; a third, whose
// plan starts with ring stages (staff, then staff and New Zealand), shows its ring stages
// and, from a status with rings, the rings panel; from a status with metrics, the first
// route shows its metrics panel (bars, the failing guardrail, the page's own charts over
// polls). A standalone script rather
// than a vitest project: one process owns chromium, workerd and the origins, and cleans
// them all up on success, failure, timeout and SIGINT/SIGTERM. Exits non-zero on failure.
// Screenshots go to test-artifacts/ (gitignored).
//
// Flags: --src <dir>  bundle the Worker from another checkout (default: this repository)
//        --headed     show the browser (needs a display)
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Browser, Locator, Page } from "playwright-core";
import type { PlanStageStatus, RingStatus, ShadowReport, StatusResponse } from "../../src/core/admin-protocol.js";
import type { MetricVerdict } from "../../src/core/metrics/metric-stats.js";
import { startOrigin, type OriginServer } from "../lib/origin-server.js";
import { startLocalWorker } from "../lib/local-worker.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const artifacts = join(root, "test-artifacts");
const BASE = "/__canary";
const TOKEN = "browser-test-admin-token";
const SYNC_MS = 200;
const USERS = Array.from({ length: 200 }, (_, i) => `user-${i}`);
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/** The whole run must finish within this, or it fails. */
const DEADLINE_MS = 110_000;

const started = Date.now();
const log = (msg: string): void => console.log(`[browser-test +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// --- cleanup: everything started registers its undo here, run last-in-first-out ----
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

/** The plan of the second route, "search": a shadow stage, then live stages (no traffic is sent to it). */
const SEARCH_STAGES = [{ shadow: { percent: 10 } }, { percent: 5 }, { percent: 25 }, { percent: 100 }];

/** The plan of the third route, "beta": ring stages (staff, then staff and New Zealand), then everyone. */
const BETA_STAGES = [{ segments: ["staff"], percent: 100 }, { segments: ["staff", "nz"], percent: 100 }, { percent: 5 }, { percent: 100 }];

/**
 * A report as GET /routes/search/shadow would give it, served to the page by playwright:
 * the panel's drawing and escaping are checked whether or not the Worker has the endpoint.
 * One sample's path and detail are markup, which must show as text.
 */
const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const SHADOW_REPORT: ShadowReport = {
  route: "search",
  release: "s1",
  stage: "shadow 10%",
  outcomes: { match: 940, mismatch: 37, canary_error: 2, canary_timeout: 1, skipped: 20 },
  mismatchRate: 37 / (940 + 37 + 20),
  latency: { stable: { p50: 12.5, p99: 80.2 }, canary: { p50: 14.1, p99: 95.7 } },
  samples: [
    { at: Date.now() - 2_000, release: "s1", method: "GET", path: "/search/q", part: "json", detail: "total: 129 != 154.8", stableStatus: 200, canaryStatus: 200 },
    { at: Date.now() - 5_000, release: "s1", method: "GET", path: `/search/${HOSTILE}`, part: "status", detail: HOSTILE, stableStatus: 200, canaryStatus: 500 },
  ],
};

/**
 * Rings as GET /status would give them for beta at its second stage, put into the real
 * status by playwright: the panel's drawing is checked whether or not the Worker reports
 * rings. One key is markup, which must show as text.
 */
const BETA_RINGS: RingStatus[] = [
  { key: "staff", percent: 100, current: false, canary: { requests: 1204, errors: 1, users: 37 }, stable: { requests: 0, errors: 0, users: 0 }, baseline: "all" },
  { key: "staff+nz", percent: 100, current: true, canary: { requests: 1106, errors: 2, users: 412 }, stable: { requests: 0, errors: 0, users: null }, baseline: "all" },
  { key: `colo:${HOSTILE}`, percent: 12.5, current: false, canary: { requests: 90, errors: 0, users: 31 }, stable: { requests: 610, errors: 1, users: 220 }, baseline: "ring" },
];
/** beta's plan as the coordinator reports it, its second stage current (the real state is at the first). */
const BETA_PLAN: PlanStageStatus[] = [
  { label: "staff 100%", kind: "live", audience: "staff", current: false },
  { label: "staff+nz 100%", kind: "live", audience: "staff+nz", current: true },
  { label: "5%", kind: "live", current: false },
  { label: "100%", kind: "live", current: false },
];

/**
 * Metric verdicts as GET /status would give them for www, put into the real status by
 * playwright (a failing guardrail, an ok one, an observed one with no stable users yet);
 * each poll moves the canary's checkout mean so the page's own charts get points. One
 * name is markup, which must show as text (names are config, but are treated as text).
 */
const HOSTILE_METRIC = `q${HOSTILE}`;
const wwwMetrics = (poll: number): MetricVerdict[] => [
  { name: "checkout", kind: "conversion", mode: "guardrail", better: "higher", tolerance: 0.05, stable: { users: 18250, mean: 0.0412 }, canary: { users: 961 + poll, mean: 0.0343 + poll * 0.0001 }, relativeDifference: -0.1675, interval: { low: -0.3105, high: -0.0612 }, rejects: true },
  { name: HOSTILE_METRIC, kind: "mean", mode: "guardrail", better: "higher", tolerance: 0.02, stable: { users: 9120, mean: 0.8241 }, canary: { users: 480, mean: 0.8312 }, relativeDifference: 0.0086, interval: { low: -0.0153, high: 0.0331 }, rejects: false },
  { name: "js_error", kind: "rate-per-user", mode: "observe", better: "lower", tolerance: 0.1, stable: { users: 0, mean: null }, canary: { users: 12, mean: 0.25 }, relativeDifference: null, interval: null, rejects: false },
];

/** The Worker under test, with its config (www at weight 30, search and beta in steps; fast sync) and the admin token. */
async function startWorker(src: string, stable: string, canary: string): Promise<{ url: URL }> {
  const worker = await startLocalWorker({
    srcDir: src,
    bindings: { ADMIN_TOKEN: TOKEN, ADMIN_BASE_PATH: BASE, CONFIG_REFRESH_MS: "1000" },
    config: {
      version: 1,
      sync: { intervalMs: SYNC_MS },
      segments: {
        staff: { header: "x-staff", equals: "1", trusted: true },
        nz: { cf: "country", equals: "NZ" },
      },
      routes: [
        {
          id: "beta",
          match: { pathPrefix: "/beta" },
          stable: { origin: stable },
          canary: { origin: canary },
          release: "b1",
          steps: { stages: BETA_STAGES, minDurationSec: 3600 },
          sticky: { source: "header", name: "x-user-id" },
        },
        {
          id: "search",
          match: { pathPrefix: "/search" },
          stable: { origin: stable },
          canary: { origin: canary },
          release: "s1",
          steps: { stages: SEARCH_STAGES, minDurationSec: 3600 },
          shadow: { compare: "json", ignore: ["requestId"] },
          sticky: { source: "header", name: "x-user-id" },
        },
        {
          id: "www",
          stable: { origin: stable },
          canary: { origin: canary },
          release: "r1",
          weight: 30,
          sticky: { source: "header", name: "x-user-id" },
        },
      ],
    },
  });
  cleanups.push({ name: "worker", run: () => worker.dispose() });
  return { url: worker.url };
}

/** Background traffic: a few loops, each sending one request per user at a time. */
function startTraffic(base: URL): { counts: Record<string, number>; stop: () => Promise<void> } {
  const counts: Record<string, number> = { stable: 0, canary: 0, other: 0 };
  let running = true;
  const loops = Array.from({ length: 6 }, async (_, k) => {
    let i = k;
    while (running) {
      const user = USERS[i % USERS.length]!;
      i += 7;
      try {
        const res = await fetch(new URL(`/shop/items?i=${i}`, base), { headers: { "x-user-id": user }, signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        const v = res.headers.get("x-canary-variant") ?? "other";
        counts[v in counts ? v : "other"]! += 1;
      } catch {
        counts.other! += 1;
      }
      await sleep(25);
    }
  });
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Variant served to each user, one request each, with when each request was sent. */
async function sweep(base: URL): Promise<Array<{ user: string; variant: string; sentAt: number }>> {
  const out: Array<{ user: string; variant: string; sentAt: number }> = [];
  await Promise.all(
    Array.from({ length: 10 }, async (_, k) => {
      for (let i = k; i < USERS.length; i += 10) {
        const sentAt = Date.now();
        const res = await fetch(new URL("/shop/checkout", base), { headers: { "x-user-id": USERS[i]! } });
        await res.arrayBuffer();
        out.push({ user: USERS[i]!, variant: res.headers.get("x-canary-variant") ?? `HTTP ${res.status}`, sentAt });
      }
    }),
  );
  return out;
}

interface Status {
  routes: Array<{ id: string; coordinator: { state?: { phase: string }; series: unknown[] } }>;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

/**
 * Every user requests /search/q once; the 10% in the shadow stage are mirrored, and the
 * canary's JSON names its own version, so the comparison mismatches and the panel must
 * show real samples from GET /routes/:id/shadow. The constructed report below checks the
 * drawing of every field.
 */
async function realShadowReport(base: URL, panel: Locator): Promise<void> {
  const probe = await fetch(new URL(`${BASE}/api/routes/search/shadow`, base), { headers: { authorization: `Bearer ${TOKEN}` } });
  await probe.arrayBuffer();
  assert.equal(probe.status, 200, "GET /routes/search/shadow answers");
  await Promise.all(
    Array.from({ length: 10 }, async (_, k) => {
      for (let i = k; i < USERS.length; i += 10) {
        const res = await fetch(new URL("/search/q", base), { headers: { "x-user-id": USERS[i]!, accept: "application/json" } });
        await res.arrayBuffer();
        assert.equal(res.headers.get("x-canary-variant"), "stable", "a shadow stage serves every user from stable");
      }
    }),
  );
  const row = panel.locator('tr[data-test="shadow-sample"]').first();
  await row.waitFor({ timeout: 15_000 });
  const text = (await row.locator("td").allTextContents()).join(" | ");
  assert.match(text, /GET \| \/search\/q \| json \| .*version/, `a real mismatch sample: ${text}`);
  assert.match((await panel.locator('[data-outcome="mismatch"]').textContent()) ?? "", /mismatch\s*[1-9]/, "real mismatches counted");
  log(`(2) real shadow report drawn, newest sample: ${text.slice(0, 160)}`);
}

/**
 * beta's plan from the real Worker: its ring stages by label, the first one current, and
 * no rings panel on a route without ring stages. Then the real status with BETA_RINGS and
 * BETA_PLAN put in: the panel's rows, the stage the server marks current, markup as text.
 */
async function checkRings(page: Page, www: Locator, url: URL): Promise<void> {
  const beta = page.locator('[data-route="beta"]');
  const steps = beta.locator('[data-test="steps"]');
  await steps.locator(".step.ring.cur", { hasText: "staff 100%" }).waitFor({ timeout: 10_000 });
  const stagesText = ((await steps.textContent()) ?? "").replace(/\s+/g, " ");
  assert.match(stagesText, /steps ?staff 100% ?› ?staff\+nz 100% ?› ?5% ?› ?100% ?› ?promoted 100%/, `beta shows its ring stages by label: ${stagesText}`);
  assert.equal(await steps.locator(".step.ring").count(), 2, "two ring stage chips");
  assert.match((await steps.locator('[data-test="ring-note"]').textContent()) ?? "", /^canary for 100% of staff \(and every ring before it\); everyone else 0%$/, "the current ring stage is said in words");
  assert.equal(await www.locator('[data-test="rings"]').isHidden(), true, "a route without ring stages has no rings panel");

  // Real traffic first: 12 staff users (x-staff: 1) get the canary, 12 others stable, and
  // the real rings panel counts them (users are exact up to 16).
  for (let i = 0; i < 24; i++) {
    const staff = i < 12;
    const res = await fetch(new URL(`/beta/page-${i}`, url), { headers: { "x-user-id": `ring-user-${i}`, ...(staff ? { "x-staff": "1" } : {}) } });
    await res.arrayBuffer();
    assert.equal(res.headers.get("x-canary-variant"), staff ? "canary" : "stable", `beta: ${staff ? "a staff" : "a non-staff"} request (${i})`);
  }
  const staffRow = beta.locator('[data-test="rings"] tr[data-test="ring-row"]').first();
  const staffCells = async (): Promise<string> => ((await staffRow.count()) > 0 ? (await staffRow.locator("td").allTextContents()).join(" | ") : "");
  const deadline = Date.now() + 15_000;
  let seen = await staffCells();
  while (!/^staff \| 100% \| 12 \| 12 \| 0 \|/.test(seen)) {
    assert.ok(Date.now() < deadline, `the real staff ring counts 12 canary requests from 12 users: ${seen || "(no row)"}`);
    await new Promise((r) => setTimeout(r, 250));
    seen = await staffCells();
  }
  assert.equal(await staffRow.getAttribute("class").then((c) => /\bcur\b/.test(c ?? "")), true, "the real staff ring is the current one");

  await page.route("**/__canary/api/status", async (route) => {
    const res = await route.fetch();
    const status = (await res.json()) as StatusResponse;
    for (const r of status.routes) if (r.id === "beta") Object.assign(r.coordinator, { rings: BETA_RINGS, plan: BETA_PLAN });
    await route.fulfill({ response: res, json: status });
  });
  const panel = beta.locator('[data-test="rings"]');
  const rows = panel.locator('tr[data-test="ring-row"]');
  await rows.nth(2).waitFor({ timeout: 10_000 });
  const cells = async (i: number): Promise<string> => (await rows.nth(i).locator("td").allTextContents()).join(" | ");
  assert.equal(await rows.count(), 3, "one row per ring");
  assert.equal(await cells(0), "staff | 100% | 1204 | 37 | 1 | 0 | 0 | all stable users", "a ring's share, canary and stable traffic, baseline");
  assert.equal(await cells(1), "staff+nz | 100% | 1106 | 412 | 2 | 0 | - | all stable users", "unknown users read -");
  assert.match((await rows.nth(1).getAttribute("class")) ?? "", /\bcur\b/, "the current stage's ring is marked");
  assert.equal(await cells(2), `colo:${HOSTILE} | 12.5% | 90 | 31 | 0 | 610 | 220 | ring's stable users`, "a ring compared with its own stable users; its key shown as text");
  assert.equal(await panel.locator("img").count(), 0, "markup in a ring key is never parsed");
  assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, "no script ran from a ring key");
  await steps.locator('.step.ring.cur[data-current="true"]', { hasText: "staff+nz 100%" }).waitFor({ timeout: 10_000 });
  assert.match((await steps.locator('[data-test="ring-note"]').textContent()) ?? "", /^canary for 100% of staff\+nz /, "the note follows the stage the server marks current");
  await beta.screenshot({ path: join(artifacts, "dashboard-rings.png") });
  log(`screenshot ${join(artifacts, "dashboard-rings.png")}`);
  await page.unroute("**/__canary/api/status");
}

/**
 * The metrics panel of www from the real status with constructed metrics: one row per
 * metric (kind, mode, both arms, difference, interval, tolerance, verdict), the failing
 * guardrail marked, bars with the tolerated line, a chart per metric that grows with the
 * page's polls, markup in a name as text; hidden on a route without metrics.
 */
async function checkMetrics(page: Page, www: Locator): Promise<void> {
  const panel = www.locator('[data-test="metrics"]');
  assert.equal(await panel.isHidden(), true, "a route without metrics in status has no metrics panel");
  let poll = 0;
  await page.route("**/__canary/api/status", async (route) => {
    const res = await route.fetch();
    const status = (await res.json()) as StatusResponse;
    for (const r of status.routes) if (r.id === "www") r.coordinator.metrics = wwwMetrics(poll++);
    await route.fulfill({ response: res, json: status });
  });
  const rows = panel.locator('tr[data-test="metric-row"]');
  await rows.nth(2).waitFor({ timeout: 10_000 });
  // The bar's cell reads "" here (its SVG title is the hover text, checked through the bar below).
  const cells = async (i: number): Promise<string> =>
    (await rows.nth(i).locator("td").evaluateAll((tds) => tds.map((td) => (td.querySelector("svg") ? "" : td.textContent)))).join(" | ");
  assert.equal(await rows.count(), 3, "one row per metric");
  const checkout = await cells(0);
  assert.match(checkout, /^checkout \| conversion \| guardrail \| 4\.12% \| 18250 \| 3\.\d\d% \| \d+ \| -16\.75% \| -31\.05% \.\. -6\.12% \|  \| -5\.00% \| FAILS$/, `a conversion: shares of users, difference, interval, tolerance, verdict: ${checkout}`);
  assert.match((await rows.nth(0).locator("svg title").textContent()) ?? "", /^canary relative to stable -16\.75% \(interval -31\.05% to -6\.12%\); tolerated -5\.00%/, "the bar says its figures on hover");
  assert.equal(await rows.nth(0).getAttribute("data-fails"), "true", "the failing guardrail is marked");
  assert.match((await rows.nth(0).getAttribute("class")) ?? "", /\bfail\b/, "the failing guardrail's row is drawn as failing");
  assert.equal(await cells(1), `${HOSTILE_METRIC} | mean | guardrail | 0.824 | 9120 | 0.831 | 480 | +0.86% | -1.53% .. +3.31% |  | -2.00% | ok`, "a metric's name is shown as text");
  assert.equal(await rows.nth(1).getAttribute("data-fails"), null, "an ok guardrail is not marked");
  assert.equal(await cells(2), "js_error | rate-per-user | observe | - | 0 | 0.250 | 12 | - | - |  | +10.00% | no data", "no stable users yet: no difference");
  const bar = rows.nth(0).locator('svg[data-test="metric-bar"]');
  assert.equal(await bar.locator('[data-test="metric-interval"]').count(), 1, "the interval is drawn as a bar");
  assert.equal(await bar.locator('[data-test="metric-tolerance"]').getAttribute("data-value"), "-0.05", "the tolerated line sits at -5%");
  const ivX = Number(await bar.locator('[data-test="metric-interval"]').getAttribute("x"));
  const ivW = Number(await bar.locator('[data-test="metric-interval"]').getAttribute("width"));
  const tolX = Number(await bar.locator('[data-test="metric-tolerance"]').getAttribute("x1"));
  assert.ok(ivX + ivW < tolX, `the failing interval lies wholly below the tolerated line (${ivX}+${ivW} < ${tolX})`);
  assert.equal(await rows.nth(2).locator('[data-test="metric-interval"]').count(), 0, "no interval before both arms have users");
  // The charts are the page's own history: one point per poll, so wait for a second.
  const charts = panel.locator('[data-test="metric-charts"] svg[data-chart^="metric-"]');
  assert.equal(await charts.count(), 3, "a chart per metric");
  const checkoutCanary = panel.locator('svg[data-chart="metric-checkout"] path.line[data-series="canary"]');
  await waitFor("two polls on the checkout chart", 10_000, async () => (Number(await checkoutCanary.getAttribute("data-points").catch(() => "0")) >= 2 ? true : undefined));
  assert.equal(await panel.locator("img").count(), 0, "markup in a metric name is never parsed");
  assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, "no script ran from a metric name");
  assert.match((await panel.locator('[data-test="metrics-note"]').textContent()) ?? "", /1 failing/, "the panel says how many guardrails fail");
  await www.screenshot({ path: join(artifacts, "dashboard-metrics.png") });
  log(`screenshot ${join(artifacts, "dashboard-metrics.png")}`);
  await page.unroute("**/__canary/api/status");
}

async function shot(page: Page, name: string): Promise<void> {
  const file = join(artifacts, name);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { src: { type: "string" }, headed: { type: "boolean", default: false } } });
  const src = resolve(values.src ?? root);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  await mkdir(artifacts, { recursive: true });

  const [stable, canary] = await Promise.all([startOrigin("stable"), startOrigin("canary")]);
  for (const o of [stable, canary] as OriginServer[]) cleanups.push({ name: `origin ${o.name}`, run: () => o.close() });
  log(`origins ${stable.url} (stable) ${canary.url} (canary); bundling the Worker from ${src}`);
  const { url } = await startWorker(src, stable.url, canary.url);
  log(`worker on ${url.href}`);

  const traffic = startTraffic(url);
  cleanups.push({ name: "traffic", run: () => traffic.stop() });
  await waitFor("progressing with data in /status", 30_000, async () => {
    const res = await fetch(new URL(`${BASE}/api/status`, url), { headers: { authorization: `Bearer ${TOKEN}` } });
    const s = (await res.json()) as Status;
    const www = s.routes?.find((r) => r.id === "www");
    return www?.coordinator.state?.phase === "progressing" && www.coordinator.series.length > 0 && traffic.counts.canary! > 0 ? true : undefined;
  });
  log(`traffic flowing: ${JSON.stringify(traffic.counts)}`);

  const { chromium } = await import("playwright-core");
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: !values.headed });
  cleanups.push({ name: "chromium", run: () => browser.close() });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Uncaught/i.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  const dash = (path: string): string => new URL(BASE + path, url).href;

  // (1) No token, or a wrong one: 401 and a login page, never the dashboard.
  for (const path of ["/", "", "/?token=wrong-token"]) {
    const res = await page.goto(dash(path));
    assert.equal(res?.status(), 401, `GET ${BASE}${path} without a valid token must be 401`);
    const html = await page.content();
    assert.ok(!/id="routes"|data-chart|<script/.test(html), `GET ${BASE}${path}: 401 page must not contain dashboard markup`);
    assert.match(html, /\?token=/, "the 401 page says how to log in (is serveDashboard wired into handle-admin.ts?)");
  }
  const early = (await context.cookies()).filter((c) => c.name === "canary_admin");
  assert.equal(early.length, 0, `a wrong token sets no session cookie: ${JSON.stringify(await context.cookies())}`);
  await shot(page, "dashboard-login.png");
  log("(1) refused without a token: 401 login page, no dashboard markup");

  // (2) With the token: cookie set, token gone from the URL, live charts with data.
  const login = await page.goto(dash(`/?token=${TOKEN}`));
  assert.equal(login?.status(), 200, "login with the right token lands on the dashboard");
  assert.equal(page.url(), dash("/"), "the token is removed from the address bar");
  const cookie = (await context.cookies()).find((c) => c.name === "canary_admin");
  assert.ok(cookie, "canary_admin cookie is set");
  assert.equal(cookie.httpOnly, true, "cookie is HttpOnly");
  assert.equal(cookie.secure, true, "cookie is Secure");
  assert.equal(cookie.sameSite, "Strict", "cookie is SameSite=Strict");
  assert.equal(cookie.path, BASE, `cookie Path=${BASE}`);
  assert.ok(!cookie.value.includes(TOKEN), "the cookie does not hold the token itself");

  const card = page.locator('[data-route="www"]');
  await card.locator('[data-test="phase"]', { hasText: "progressing" }).waitFor({ timeout: 15_000 });
  // Buckets are 10 s wide: wait until both request-rate lines span two of them.
  const ratePaths = card.locator('svg[data-chart="rate"] path.line');
  await waitFor("two buckets on both request-rate lines", 25_000, async () => {
    const counts = await ratePaths.evaluateAll((ps) => ps.map((p) => Number(p.getAttribute("data-points"))));
    return counts.length === 2 && counts.every((n) => n >= 2) ? true : undefined;
  });
  for (const chart of ["rate", "errors", "latency"]) {
    const svg = card.locator(`svg[data-chart="${chart}"]`);
    await svg.locator("path.line").first().waitFor({ state: "attached", timeout: 15_000 });
    const paths = await svg.locator("path.line").evaluateAll((ps) =>
      ps.map((p) => ({ d: p.getAttribute("d") ?? "", n: Number(p.getAttribute("data-points")), series: p.getAttribute("data-series") })),
    );
    assert.ok(paths.length > 0 && paths.every((p) => /^M[\d.]+ [\d.]+/.test(p.d) && p.n > 0), `${chart} chart has drawn lines: ${JSON.stringify(paths)}`);
    assert.ok((await svg.locator("circle.pt").count()) > 0, `${chart} chart has data points`);
  }
  const rateSeries = await card.locator('svg[data-chart="rate"] path.line').evaluateAll((ps) => ps.map((p) => p.getAttribute("data-series")));
  assert.deepEqual(rateSeries.sort(), ["canary", "stable"], "request-rate chart has a stable and a canary line");
  assert.match((await card.locator('[data-test="effective-weight"]').textContent()) ?? "", /30%/, "effective weight 30% shown");
  assert.match((await card.locator('[data-test="mode"]').textContent()) ?? "", /manual/, "mode shown");
  assert.match((await card.locator('[data-test="steps"]').textContent()) ?? "", /manual weight\s*30%/, "manual mode shows its weight");
  // The plan's stages by label, the current one highlighted, and the shadow panel of a
  // route with shadow stages. Without a report (GET /routes/:id/shadow answers 404, or an
  // empty one) it reads "no shadow data yet" and puts nothing in the error banner.
  const search = page.locator('[data-route="search"]');
  await search.locator('[data-test="steps"] .step.cur', { hasText: "shadow 10%" }).waitFor({ timeout: 10_000 });
  const stagesText = ((await search.locator('[data-test="steps"]').textContent()) ?? "").replace(/\s+/g, " ");
  assert.match(stagesText, /steps ?shadow 10% ?› ?5% ?› ?25% ?› ?100% ?› ?promoted 100%/, `search shows its stages by label: ${stagesText}`);
  assert.equal(await search.locator('[data-test="steps"] .step.shadow').count(), 1, "one shadow stage chip");
  assert.equal(await card.locator('[data-test="shadow"]').isHidden(), true, "a route without shadow stages has no shadow panel");
  await search.locator('[data-test="shadow-empty"]', { hasText: "no shadow data yet" }).waitFor({ timeout: 10_000 });
  assert.doesNotMatch((await page.locator("#errors").textContent()) ?? "", /shadow/, "no shadow error in the banner when there is no report yet");
  const panel = search.locator('[data-test="shadow"]');
  await realShadowReport(url, panel);
  await page.route("**/__canary/api/routes/search/shadow", (route) => route.fulfill({ json: SHADOW_REPORT }));
  // The next poll draws the served report (after a real one, when the Worker has data).
  await panel.locator("span", { hasText: "1000 mirrored requests compared" }).waitFor({ timeout: 10_000 });
  const panelText = (await panel.textContent()) ?? "";
  assert.match(panelText, /shadow 10%, release s1, 1000 mirrored requests compared/, `shadow panel header: ${panelText}`);
  assert.match((await panel.locator('[data-outcome="mismatch"]').textContent()) ?? "", /mismatch\s*37/, "mismatch count shown");
  assert.match((await panel.locator('[data-test="shadow-rate"]').textContent()) ?? "", /3\.71%.*tolerated 1\.00%/, "mismatch rate and the tolerated rate shown");
  assert.match((await panel.locator('[data-test="shadow-latency"]').textContent()) ?? "", /stable\s*12\.5\s*80\.2\s*canary\s*14\.1\s*95\.7/, "paired p50/p99 shown");
  const hostileRow = panel.locator('tr[data-test="shadow-sample"]').nth(1);
  assert.match((await hostileRow.textContent()) ?? "", /GET.*status.*200\s*500/, "a sample shows method, part and both statuses");
  assert.equal(await hostileRow.locator("td.detail").textContent(), HOSTILE, "a sample's detail is shown as text");
  assert.equal(await panel.locator("img").count(), 0, "markup in a sample is never parsed");
  assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, "no script ran from a sample");
  await search.screenshot({ path: join(artifacts, "dashboard-shadow.png") });
  log(`screenshot ${join(artifacts, "dashboard-shadow.png")}`);
  await checkRings(page, card, url);
  await checkMetrics(page, card);
  log("(2) with metrics in status, www's metrics panel: per-user means and users per arm, the difference's interval against the tolerated line, the failing guardrail marked, a chart per metric from the page's polls, a markup name as text");
  log("(2) beta shows its ring stages staff 100% > staff+nz 100% > 5% > 100%; 12 staff users got the canary and 12 others stable, and the real rings panel counts them; with rings in status, the rings panel: share, requests and users per arm, baseline");
  const decisionDetails = card.locator('[data-test="decision"] details');
  if ((await decisionDetails.count()) > 0) {
    // The engine's tests in words, above the raw explanation.
    const tests = card.locator('[data-test="decision"] [data-test="explanation-test"]');
    assert.ok((await tests.count()) > 0, "the last decision's tests are shown as a table");
    assert.match((await tests.first().textContent()) ?? "", /^errors \(failing users\)\d+ \/ \d+e\^-?[\d.]+ of e\^[\d.]+/, "the error test: events and evidence to fail");
    await decisionDetails.locator("summary").click();
  }
  await sleep(1_600); // one more poll, so the explanation stays open across a re-render
  await shot(page, "dashboard-progressing.png");
  log("(2) logged in: phase progressing, charts drawn with data points; search shows shadow 10% > 5% > 25% > 100%, no shadow data yet, then a served report with its samples as text");

  // A cookie-authenticated POST without the custom header must be refused (CSRF).
  const forged = await context.request.post(dash("/api/routes/www/pause"), { data: { reason: "forged" }, headers: { "content-type": "application/json" } });
  assert.equal(forged.status(), 403, "a cookie-authenticated POST without x-canary-admin: 1 is refused");

  // (3) Roll back from the page with a reason.
  const reason = `browser test: canary looks bad ${Date.now() % 100_000}`;
  await card.locator('button[data-action="rollback"]').click();
  await card.locator('input[name="reason"]').fill(reason);
  await card.locator('form.ask button[type="submit"]').click();
  await card.locator('[data-test="phase"]', { hasText: "rolled_back" }).waitFor({ timeout: 10_000 });
  const rolledBackAt = Date.now();
  log("(3) rollback clicked: the page shows rolled_back");

  // After one sync interval every user must get stable. The isolate learns the new
  // state on its next sync (every SYNC_MS, started by traffic), so one interval after
  // the coordinator changed, requests from every user must be served by stable.
  await sleep(SYNC_MS);
  const first = await sweep(url);
  const second = await sweep(url);
  const sweepMs = Math.max(...first.map((r) => r.sentAt)) - Math.min(...first.map((r) => r.sentAt));
  const notStable = [...first, ...second].filter((r) => r.variant !== "stable");
  assert.equal(
    notStable.length,
    0,
    `every user must be served by stable from ${SYNC_MS} ms after the rollback; not stable: ` +
      JSON.stringify(notStable.slice(0, 5).map((r) => ({ ...r, sentAt: `+${r.sentAt - rolledBackAt} ms` }))),
  );
  log(`from ${SYNC_MS} ms after the page showed rolled_back, all ${USERS.length} users got stable (2 sweeps, ${sweepMs} ms each)`);

  const row = page.locator('#audit tr[data-test="audit-row"][data-actor="operator"][data-event="rollback"]', { hasText: reason });
  await row.waitFor({ timeout: 10_000 });
  const firstRow = page.locator('#audit tr[data-test="audit-row"]').first();
  assert.match((await firstRow.textContent()) ?? "", new RegExp(reason), "the operator rollback is the newest audit entry");
  assert.equal(await card.locator('button[data-action="pause"]').isDisabled(), true, "pause is disabled once rolled back");
  assert.equal(await card.locator('button[data-action="resume"]').isEnabled(), true, "resume is offered after a rollback");
  await shot(page, "dashboard-rolled-back.png");
  log("(3) audit log shows the operator rollback with its reason");

  // API errors are shown on the page: drop the session and wait for the next poll's 401.
  await context.clearCookies();
  await page.locator("#errors", { hasText: "401" }).waitFor({ timeout: 10_000 });
  await shot(page, "dashboard-error.png");
  log("API errors are shown on the page (401 after the session cookie was dropped)");

  assert.deepEqual(pageErrors, [], "no script errors or CSP violations in the page");
  const origins = { stable: stable.requests, canary: canary.requests };
  log(`traffic totals ${JSON.stringify(traffic.counts)}, origin hits ${JSON.stringify(origins)}`);
  assert.ok(traffic.counts.other === 0, `all background requests were answered by a variant (${traffic.counts.other} were not)`);
}

let exitCode = 0;
const timer = setTimeout(() => {
  console.error(`[browser-test] FAILED: did not finish within ${DEADLINE_MS / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, DEADLINE_MS);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`[browser-test] ${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  });
}
try {
  await run();
  log("PASSED");
} catch (e) {
  exitCode = 1;
  console.error(`[browser-test] FAILED: ${(e as Error).stack ?? String(e)}`);
} finally {
  clearTimeout(timer);
  await cleanup();
}
process.exit(exitCode);
