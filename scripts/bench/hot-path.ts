// CPU cost of edge-canary's per-request decision path with the config already cached,
// measured in Node by importing the pure core directly (no runtime, no I/O). Why: in
// production `Date.now()` does not advance during CPU-only code, so the Worker cannot
// time this itself, and the end-to-end load test (proxy-bench.ts) is dominated by the
// loopback origin fetch. This isolates the part edge-canary adds in microseconds.
//
// Each iteration of the measured loop does what handle-request.ts does per request
// before/around the origin fetch, minus I/O:
//   matchRoute -> resolveIdentity (Headers with a cookie; 10% without, so minting
//   runs too) -> override-cookie lookup -> bucketOf(releaseSalt(...)) -> variantFor
//   -> originUrl + a copy of the headers made fit by sanitizeOriginHeaders (src/edge/origin-request.ts).
// Incoming Requests are pre-built (the runtime builds them, not the Worker). The
// baseline loop only constructs the URL and a Headers copy, the least any proxying
// Worker does, so "hot - baseline" is what edge-canary's logic adds; "hot" itself is
// the whole per-request CPU cost of this path (the < 50 µs target applies to it).
//
// Run alone:  npx tsx scripts/bench/hot-path.ts [--iterations 200000] [--rounds 5]
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bucketOf, releaseSalt, variantFor } from "../../src/core/bucket.js";
import { parseConfig } from "../../src/core/config/parse.js";
import type { Config } from "../../src/core/config/schema.js";
import { readCookie } from "../../src/core/cookies.js";
import { mintIdentity, resolveIdentity } from "../../src/core/identity.js";
import { matchRoute } from "../../src/core/route-match.js";
import { originUrl, sanitizeOriginHeaders } from "../../src/edge/origin-request.js";
import { median } from "../lib/median.js";

export interface HotPathOptions {
  iterations: number;
  rounds: number;
  /** Share of requests without an identity cookie (minting path). */
  noCookieShare: number;
}

export interface HotPathResult {
  iterations: number;
  rounds: number;
  /** Median ns per iteration over the rounds. */
  baselineNs: number;
  hotNs: number;
  addedNs: number;
  baselineRoundsNs: number[];
  hotRoundsNs: number[];
  /** Share of iterations that came out canary (sanity check: ~weight). */
  canaryShare: number;
}

export const DEFAULT_HOT_PATH: HotPathOptions = { iterations: 200_000, rounds: 5, noCookieShare: 0.1 };

/** Config document used by both benchmarks: one catch-all route, weight 50. */
export function benchConfigDocument(stableOrigin: string, canaryOrigin: string, exposeHeaders = true): string {
  return JSON.stringify({
    version: 1,
    routes: [
      {
        id: "bench",
        stable: { origin: stableOrigin },
        canary: { origin: canaryOrigin },
        release: "v2.0.0-bench",
        weight: 50,
        exposeHeaders,
      },
    ],
  });
}

/** 22-char base64url ids, the shape edge-canary mints. */
export function identityPool(n: number): string[] {
  return Array.from({ length: n }, () => randomBytes(16).toString("base64url"));
}

function makeInputs(n: number, noCookieShare: number): Request[] {
  const ids = identityPool(n);
  const paths = ["/", "/api/items?page=2", "/assets/app.js", "/api/users/42/profile", "/search?q=canary"];
  return ids.map((id, i) => {
    const headers: [string, string][] = [
      ["accept", "application/json"],
      ["accept-encoding", "gzip, br"],
      ["user-agent", "Mozilla/5.0 (bench) edge-canary-hot-path"],
      ["cf-connecting-ip", "203.0.113.7"],
    ];
    if ((i % 1000) / 1000 >= noCookieShare) headers.push(["cookie", `app_session=abc; canary_id=${id}; theme=dark`]);
    // The incoming Request is built by the runtime, not by the Worker: built once here.
    return new Request(`https://shop.example.com${paths[i % paths.length]!}`, { headers });
  });
}

type Loop = (inputs: readonly Request[], count: number) => number;

/** What any proxying Worker does at least: parse the URL, copy the headers. */
function baselineLoop(inputs: readonly Request[], count: number): number {
  let sink = 0;
  const mask = inputs.length - 1;
  for (let i = 0; i < count; i++) {
    const request = inputs[i & mask]!;
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    sink += url.pathname.length + (headers.has("cookie") ? 1 : 0);
  }
  return sink;
}

function makeHotLoop(config: Config, counters: { canary: number; total: number }): Loop {
  const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
  return (inputs, count) => {
    let sink = 0;
    const mask = inputs.length - 1;
    for (let i = 0; i < count; i++) {
      const request = inputs[i & mask]!;
      const url = new URL(request.url);
      // --- the hot path (handle-request.ts), config cached ---
      const route = matchRoute(config, url.host, url.pathname);
      if (!route) throw new Error("bench config must match every request");
      const identity = resolveIdentity(request.headers, route.sticky, () => mintIdentity(random));
      // Override lookup runs on every request; no token is sent here, so no HMAC.
      const overrideToken = request.headers.get(route.override.header) ?? readCookie(request.headers.get("cookie"), route.override.cookie);
      const variant = variantFor(bucketOf(releaseSalt(route.id, route.release), identity.id), route.weight);
      const origin = variant === "canary" ? route.canary : route.stable;
      const target = originUrl(origin.origin, url);
      const headers = new Headers(request.headers); // what the Request constructor copies
      sanitizeOriginHeaders(headers, url, variant, route.release, route.override.header);
      // ---
      if (variant === "canary") counters.canary++;
      counters.total++;
      sink += target.length + (headers.has("x-canary-variant") ? 1 : 0) + (overrideToken ? 1 : 0);
    }
    return sink;
  };
}

function timeLoop(loop: Loop, inputs: readonly Request[], count: number): { nsPerIter: number; sink: number } {
  const t0 = process.hrtime.bigint();
  const sink = loop(inputs, count);
  const ns = Number(process.hrtime.bigint() - t0);
  return { nsPerIter: ns / count, sink };
}

export function runHotPath(opts: HotPathOptions = DEFAULT_HOT_PATH): HotPathResult {
  const parsed = parseConfig(benchConfigDocument("http://127.0.0.1:8001", "http://127.0.0.1:8002"));
  if (!parsed.ok) throw new Error(`bench config invalid: ${parsed.error.join("; ")}`);
  const config = parsed.value;
  const inputs = makeInputs(8192, opts.noCookieShare); // power of two: index with a mask
  const counters = { canary: 0, total: 0 };
  const hot = makeHotLoop(config, counters);

  // Warm-up: let the JIT settle on both loops.
  let sink = 0;
  for (let w = 0; w < 3; w++) {
    sink += timeLoop(baselineLoop, inputs, 30_000).sink;
    sink += timeLoop(hot, inputs, 30_000).sink;
  }
  counters.canary = 0;
  counters.total = 0;

  const baselineRoundsNs: number[] = [];
  const hotRoundsNs: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    // Interleave so machine noise hits both loops alike.
    const b = timeLoop(baselineLoop, inputs, opts.iterations);
    const h = timeLoop(hot, inputs, opts.iterations);
    baselineRoundsNs.push(b.nsPerIter);
    hotRoundsNs.push(h.nsPerIter);
    sink += b.sink + h.sink;
  }
  if (sink === 42) console.log(""); // keep the work observable
  const baselineNs = median(baselineRoundsNs);
  const hotNs = median(hotRoundsNs);
  return {
    iterations: opts.iterations,
    rounds: opts.rounds,
    baselineNs,
    hotNs,
    addedNs: median(hotRoundsNs.map((h, i) => h - baselineRoundsNs[i]!)),
    baselineRoundsNs,
    hotRoundsNs,
    canaryShare: counters.canary / counters.total,
  };
}

export const fmtUs = (ns: number): string => (ns / 1000).toFixed(2);

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const { values } = parseArgs({
    options: {
      iterations: { type: "string", default: String(DEFAULT_HOT_PATH.iterations) },
      rounds: { type: "string", default: String(DEFAULT_HOT_PATH.rounds) },
    },
  });
  const r = runHotPath({ ...DEFAULT_HOT_PATH, iterations: Number(values.iterations), rounds: Number(values.rounds) });
  console.log(`hot path, config cached, Node ${process.version}: ${r.rounds} rounds x ${r.iterations} iterations (median)`);
  console.log(`| loop | µs/request |`);
  console.log(`|---|---:|`);
  console.log(`| baseline (new URL + Headers copy only) | ${fmtUs(r.baselineNs)} |`);
  console.log(`| hot path (URL + decision + origin URL/headers) | ${fmtUs(r.hotNs)} |`);
  console.log(`| **added by edge-canary** | **${fmtUs(r.addedNs)}** (target < 50) |`);
  console.log(`rounds baseline ns: ${r.baselineRoundsNs.map((x) => x.toFixed(0)).join(", ")}`);
  console.log(`rounds hot ns:      ${r.hotRoundsNs.map((x) => x.toFixed(0)).join(", ")}`);
  console.log(`canary share: ${(r.canaryShare * 100).toFixed(1)}% (weight 50)`);
}
