// Worker CPU of browser metrics (`npm run bench:metrics`): what a beacon costs the edge, and
// what the HTMLRewriter injection adds to an HTML response, against the plain route in the
// same run. The deploy bundle of edge-canary runs inside one workerd request per batch
// (as bench:handler does), with the origin answered in the isolate; every response body is
// read to its end (the rewriting happens as the body streams). IDENTITY_SECRET is set and
// every request carries a tagged identity cookie (a returning user: verified once per
// identity, then from the isolate's cache). Targets:
//   plain, JSON:   GET on a route without metrics sources, a JSON answer (the plain route);
//   plain, HTML:   the same route, a 6 KB HTML page passed through;
//   inject, HTML:  a route with metricSources.inject, the same page, the script tag inserted;
//   beacon:        POST <base>/beacon on the inject route, 2 events of route.metrics, 204.
// Batches are timed by the workerd process's CPU time (Linux; the wall clock elsewhere),
// in a new random order each round; a batch that only builds requests is the baseline
// subtracted from all. What it leaves out: the sinks' own work for metric events (the
// coordinator client and Analytics Engine write none before the collection and surfaces
// branches), the HTTP stack, and the network.
//
//   npm run bench:metrics -- [--n 2000] [--rounds 15] [--out FILE]
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { identityPool } from "../lib/bench-fixtures.js";
import { medianRange, writeReport } from "../lib/bench-report.js";
import { bundleWorker, edgeCanaryOptions, LOCAL_CF, repoRoot } from "../lib/local-worker.js";
import { median } from "../lib/median.js";
import { cpuNs, workerdChildren } from "../lib/workerd-process.js";
import { shuffled } from "../lib/shuffle.js";
import { tagIdentity } from "../../src/core/identity-tag.js";

const here = dirname(fileURLToPath(import.meta.url));
const ORIGIN = "http://127.0.0.1:9";
const IDENTITY_SECRET = "bench-identity-secret";
const IDS = identityPool(5_000);
const COOKIES = (await Promise.all(IDS.map((id) => tagIdentity(IDENTITY_SECRET, id)))).map((v) => `canary_id=${v}`);
const METRICS = [
  { name: "checkout", kind: "conversion", better: "higher" },
  { name: "js_error", kind: "rate-per-user", better: "lower" },
];
/** A page of about 6 KB with a head and a nonce'd inline script, as a server-rendered page has. */
const PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title><script nonce="n0nce">window.app={}</script>' +
  '<link rel="stylesheet" href="/s.css"></head><body><main>' +
  Array.from({ length: 60 }, (_, i) => `<section class="item"><h2>Item ${i}</h2><p>A line of text about item ${i}, with a <a href="/i/${i}">link</a>.</p></section>`).join("") +
  "</main></body></html>";

const TARGETS = {
  "plain, JSON": { host: "plain.bench", path: "/api/items", beacon: false },
  "plain, HTML": { host: "plain.bench", path: "/page", beacon: false },
  "inject, HTML": { host: "inject.bench", path: "/page", beacon: false },
  beacon: { host: "inject.bench", path: "/__canary/beacon", beacon: true },
} as const;

function configDocument(): string {
  const route = (id: string, host: string, inject: boolean) => ({
    id,
    match: { hosts: [host] },
    stable: { origin: ORIGIN },
    canary: { origin: ORIGIN },
    release: "r1",
    weight: 50,
    exposeHeaders: true,
    ...(inject ? { metrics: METRICS, metricSources: { inject: true, maxEventsPerUser: 10_000 } } : {}),
  });
  return JSON.stringify({ version: 1, sync: { intervalMs: 1000 }, routes: [route("inject", "inject.bench", true), route("plain", "plain.bench", false)] });
}

const harness = `
import edge from "./index.js";
export { Coordinator } from "./index.js";
const PAGE = ${JSON.stringify(PAGE)};
const JSON_BODY = JSON.stringify({ version: "stable", method: "GET", path: "/api/items", query: "", headers: {}, bodyLength: 0 });
const realFetch = globalThis.fetch;
const localOrigin = async (input, init) => {
  const req = input instanceof Request && init === undefined ? input : new Request(input, init);
  if (!req.url.startsWith(${JSON.stringify(ORIGIN)})) return realFetch(req);
  const html = new URL(req.url).pathname === "/page";
  const body = html ? PAGE : JSON_BODY;
  return new Response(body, { status: 200, headers: { "content-type": html ? "text/html; charset=utf-8" : "application/json", "content-length": String(body.length) } });
};
const COOKIES = ${JSON.stringify(COOKIES)};
const TARGETS = ${JSON.stringify(TARGETS)};
const BEACON = JSON.stringify({ page: "/page", source: "script", events: [{ name: "checkout", value: 1 }, { name: "js_error", value: 1 }] });
const incoming = (i, t) => {
  const headers = { host: t.host, cookie: COOKIES[i % COOKIES.length], "user-agent": "edge-canary-bench", accept: t.beacon ? "*/*" : "text/html" };
  if (t.beacon) headers["content-type"] = "text/plain;charset=UTF-8";
  return new Request("http://" + t.host + t.path, { method: t.beacon ? "POST" : "GET", headers, body: t.beacon ? BEACON : undefined, cf: ${JSON.stringify(LOCAL_CF)} });
};
let served = 0;
export default {
  async fetch(request, env, ctx) {
    const u = new URL(request.url);
    if (u.pathname !== "/__metrics-bench") return edge.fetch(request, env, ctx);
    const name = u.searchParams.get("target");
    const n = Number(u.searchParams.get("n"));
    const t = name === "baseline" ? TARGETS["plain, JSON"] : TARGETS[name];
    if (t === undefined) return new Response("unknown target " + name, { status: 400 });
    const workerEnv = { ...env, IDENTITY_SECRET: ${JSON.stringify(IDENTITY_SECRET)} };
    globalThis.fetch = localOrigin;
    let ok = 0;
    let bytes = 0;
    try {
      for (let i = 0; i < n; i++) {
        const req = incoming(served++, t);
        if (name === "baseline") continue;
        const res = await edge.fetch(req, workerEnv, ctx);
        const text = await res.text();
        bytes += text.length;
        const injected = text.includes("/__canary/m.");
        if (t.beacon ? res.status === 204 && /^accepted=2,/.test(res.headers.get("x-canary-beacon") ?? "") : res.status === 200 && injected === (name === "inject, HTML")) ok++;
      }
    } finally {
      globalThis.fetch = realFetch;
    }
    return Response.json({ ok, bytes });
  },
};
`;

function readArgs(): { n: number; rounds: number; out: string } {
  const { values } = parseArgs({
    options: { n: { type: "string", default: "2000" }, rounds: { type: "string", default: "15" }, out: { type: "string", default: join(here, "results/metrics-bench.md") } },
  });
  const n = Number(values.n);
  const rounds = Number(values.rounds);
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(rounds) && rounds >= 1)) throw new Error("--n and --rounds must be integers >= 1");
  return { n, rounds, out: resolve(values.out!) };
}

async function main(): Promise<void> {
  const args = readArgs();
  const bundle = await bundleWorker(repoRoot);
  const dir = dirname(bundle.scriptPath);
  await writeFile(join(dir, "harness.js"), harness);
  const options = await edgeCanaryOptions(join(dir, "harness.js"), repoRoot);
  const before = workerdChildren();
  const mf = new Miniflare({ ...options, scriptPath: undefined, modules: [{ type: "ESModule", path: join(dir, "harness.js") }, { type: "ESModule", path: join(dir, "index.js") }], port: undefined, host: undefined } as MiniflareOptions);
  const names = ["baseline", ...Object.keys(TARGETS)];
  const times = new Map<string, number[]>(names.map((k) => [k, []]));
  try {
    await mf.ready;
    const pid = [...workerdChildren()].find((p) => !before.has(p));
    const cpu = cpuNs(pid) === undefined ? undefined : () => cpuNs(pid)! / 1000;
    const now = cpu ?? (() => performance.now() * 1000);
    await (await mf.getKVNamespace("CANARY_CONFIG")).put("config", configDocument());
    const batch = async (name: string, n: number): Promise<number> => {
      const started = now();
      const res = await mf.dispatchFetch(`http://127.0.0.1/__metrics-bench?target=${encodeURIComponent(name)}&n=${n}`);
      const body = (await res.json()) as { ok: number };
      const us = (now() - started) / n;
      if (name !== "baseline" && body.ok !== n) throw new Error(`${name}: ${body.ok} of ${n} requests answered as expected`);
      return us;
    };
    for (let r = 0; r <= args.rounds; r++) {
      for (const name of shuffled(names)) {
        await batch(name, Math.ceil(args.n / 10));
        const us = await batch(name, args.n);
        if (r > 0) times.get(name)!.push(us);
      }
    }
    const clock = cpu ? "the workerd process's CPU time (/proc schedstat)" : "the wall clock (no /proc here)";
    const baseline = median(times.get("baseline")!);
    const own = (name: string): number[] => times.get(name)!.map((x) => x - baseline);
    const targets = names.filter((x) => x !== "baseline");
    const against = (name: string, ref: string): string => medianRange(own(name).map((x, i) => x - own(ref)[i]!), 1);
    writeReport(
      args.out,
      "Browser metrics: Worker CPU per beacon and per rewritten HTML response",
      "bench:metrics",
      [
        `edge-canary's deploy bundle, ${args.n} requests per batch inside one workerd request, origin answered in the isolate, every body read to its end; ${args.rounds} rounds after a warm-up round, random order each round; timed by ${clock}; minus the baseline (building the requests, median ${baseline.toFixed(1)} µs). IDENTITY_SECRET set, tagged cookies of ${IDS.length} returning users. The page is ${PAGE.length} bytes. Metric sinks write nothing yet on this branch (no collection): a beacon's cost is the endpoint's own.`,
      ],
      [
        "| target | µs per request (median) | µs (best round) | minus plain, JSON (µs, median of per-round differences; lowest to highest) | minus plain, HTML |",
        "|---|---:|---:|---:|---:|",
        ...targets.map((name) => `| ${name} | ${median(own(name)).toFixed(1)} | ${Math.min(...own(name)).toFixed(1)} | ${name === "plain, JSON" ? "" : against(name, "plain, JSON")} | ${name === "plain, HTML" ? "" : against(name, "plain, HTML")} |`),
        "",
        `Per round, µs per request (minus the baseline):`,
        "",
        `| round | ${targets.join(" | ")} |`,
        `|---:|${targets.map(() => "---:").join("|")}|`,
        ...times.get("baseline")!.map((_, i) => `| ${i + 1} | ${targets.map((name) => own(name)[i]!.toFixed(1)).join(" | ")} |`),
      ],
    );
  } finally {
    await mf.dispose();
    await bundle.cleanup();
  }
}

await main();
