// Shadow mirroring benchmark (`npm run bench:shadow`). Two questions:
//  1. Does mirroring every request slow what the user sees? One edge-canary (the deploy
//     bundle in Miniflare) serves two routes over the same two real origins on
//     127.0.0.1 (each in its own process): host off.bench has no shadow stage, host on.bench is in a shadow stage
//     at 100% with the exact body comparison, the worst case (stable's body is tee'd and
//     hashed, the canary's read and hashed). Interleaved rounds, a new random order each
//     round; per round each route gets the same requests for a 16 KiB page, with
//     `--connections` closed loops (1: one request at a time); time to the last byte of
//     the user's response. Then the same with open-loop arrivals (`--rate`, requests per
//     second per route): sends are scheduled ahead (Poisson by default), independent of
//     the answers, and each request is timed from its scheduled send, so a stalled isolate
//     shows as latency instead of as fewer requests (no coordinated omission). Closed loops
//     at 8 connections keep the isolate saturated; an open-loop rate below saturation is
//     what an edge isolate serving users sees. Reported: p50 and p99 of each, and on / off per round. A
//     third arm, control, separates the machine doing more origin work (2 shared CPUs)
//     from mirroring on the user's path: off.bench (no shadow), and the load generator
//     itself sends, as each response's headers arrive, the same request to the canary
//     origin and, at the latencyPairs share (0.25, the default), to the stable origin: the
//     origin work of shadow 100% without the Worker doing it. on / control is the cost of
//     mirroring in the Worker.
//  2. What does one mirrored request cost in CPU? Each route's handler runs n times
//     inside one workerd request with the origin answered in the isolate (as in
//     bench:handler), waiting for every mirror to finish; timed by the workerd process's
//     CPU time. route - off is the CPU of one mirror, for each compare kind (status,
//     headers, body, json over a 16 KiB page; and body without reference requests).
//
//   npm run bench:shadow -- [--rounds 8] [--requests 400] [--connections 1,8]
//                           [--rate 100,250,500] [--arrivals poisson] [--micro-n 2000]
//                           [--micro-rounds 15] [--compare body] [--out FILE]
//     --compare: the shadow.compare of on.bench in the latency phase (status, headers, body, json)
//     --rate: open-loop rates, requests per second per route ("" for none)
//     --arrivals: poisson (exponential gaps) or fixed (even gaps)
//     --phases: latency, cpu or both (default)
//     --percent: the shadow share of on.bench in the latency phase (default 100)
import { fork } from "node:child_process";
import { request as httpRequest, Agent } from "node:http";
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { identityPool } from "../lib/bench-fixtures.js";
import { medianRange, writeReport } from "../lib/bench-report.js";
import { bundleWorker, edgeCanaryOptions, LOCAL_CF, repoRoot, startLocalWorker } from "../lib/local-worker.js";
import { median } from "../lib/median.js";
import { cpuNs, workerdChildren } from "../lib/workerd-process.js";
import { shuffled } from "../lib/shuffle.js";

const here = dirname(fileURLToPath(import.meta.url));
const PAGE_BYTES = 16 * 1024;
const MODES = ["off", "on"] as const;
type Mode = (typeof MODES)[number];
/** The latency phase's arms: the two routes, and control (off.bench plus the mirrors' origin requests sent directly). */
const ARMS = ["off", "on", "control"] as const;
type Arm = (typeof ARMS)[number];
/** shadow.latencyPairs's default: the share of mirrors that also send stable a reference request. */
const LATENCY_PAIRS = 0.25;
const COMPARES = ["status", "headers", "body", "json"] as const;
type Compare = (typeof COMPARES)[number];

/** The CPU phase's routes besides off: one per compare kind, and body without reference requests (latencyPairs 0). */
const CPU_ROUTES = [
  { id: "status", compare: "status" },
  { id: "headers", compare: "headers" },
  { id: "body", compare: "body" },
  { id: "json", compare: "json" },
  { id: "nopairs", compare: "body", latencyPairs: 0 },
] as const satisfies readonly { id: string; compare: Compare; latencyPairs?: number }[];
type CpuRoute = (typeof CPU_ROUTES)[number]["id"];

const benchRoute = (id: string, match: unknown, stable: string, canary: string, shadow?: { compare: Compare; percent: number; latencyPairs?: number }): unknown =>
  shadow === undefined
    ? { id, match, stable: { origin: stable }, canary: { origin: canary }, release: "bench-1", weight: 0 }
    : {
        id,
        match,
        stable: { origin: stable },
        canary: { origin: canary },
        release: "bench-1",
        steps: { stages: [{ shadow: { percent: shadow.percent } }, { percent: 50 }], minDurationSec: 86_400, minRequests: 1_000_000 },
        // latencyTolerance at its maximum: on two loopback origins sharing 2 CPUs with the load
        // generator, the canary's tail is the machine's noise, and the engine ending the shadow
        // stage mid-run would leave on.bench unmirrored (the latency phase checks every batch).
        shadow: {
          compare: shadow.compare,
          maxBodyBytes: 1024 * 1024,
          maxInFlight: 1000,
          latencyTolerance: 10,
          ...(shadow.latencyPairs === undefined ? {} : { latencyPairs: shadow.latencyPairs }),
        },
      };

/** The latency phase's two routes, by host: the same origins, on.bench in a shadow stage. */
function latencyConfig(stable: string, canary: string, compare: Compare, percent: number): unknown {
  return {
    version: 1,
    routes: [benchRoute("off", { hosts: ["off.bench"] }, stable, canary), benchRoute("on", { hosts: ["on.bench"] }, stable, canary, { compare, percent })],
  };
}

/** The CPU phase's routes, by path: /off, and /<id> for each of CPU_ROUTES at shadow 100%. */
function cpuConfig(origin: string): unknown {
  return {
    version: 1,
    routes: [
      benchRoute("off", { pathPrefix: "/off/" }, origin, origin),
      ...CPU_ROUTES.map((r) => benchRoute(r.id, { pathPrefix: `/${r.id}/` }, origin, origin, { compare: r.compare, percent: 100, ...("latencyPairs" in r ? { latencyPairs: r.latencyPairs } : {}) })),
    ],
  };
}

function readArgs() {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "8" },
      requests: { type: "string", default: "400" },
      connections: { type: "string", default: "1,8" },
      "micro-n": { type: "string", default: "2000" },
      "micro-rounds": { type: "string", default: "15" },
      compare: { type: "string", default: "body" },
      rate: { type: "string", default: "100,250,500" },
      arrivals: { type: "string", default: "poisson" },
      percent: { type: "string", default: "100" },
      phases: { type: "string", default: "latency,cpu" },
      out: { type: "string", default: join(here, "results/shadow-bench.md") },
    },
  });
  const compare = values.compare as Compare;
  if (!COMPARES.includes(compare)) throw new Error(`--compare must be one of ${COMPARES.join(", ")}`);
  const int = (k: keyof typeof values, min: number): number => {
    const n = Number(values[k]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer >= ${min}`);
    return n;
  };
  const connections = String(values.connections)
    .split(",")
    .map((c) => Number(c));
  if (!connections.every((c) => Number.isInteger(c) && c >= 1 && c <= 64)) throw new Error("--connections must be a list of integers 1..64");
  const rates = String(values.rate)
    .split(",")
    .filter((r) => r.trim() !== "")
    .map((r) => Number(r));
  if (!rates.every((r) => Number.isFinite(r) && r > 0 && r <= 10_000)) throw new Error("--rate must be a list of rates in (0, 10000] requests per second");
  const arrivals = values.arrivals as "poisson" | "fixed";
  if (arrivals !== "poisson" && arrivals !== "fixed") throw new Error("--arrivals must be poisson or fixed");
  const phases = String(values.phases).split(",");
  if (phases.length === 0 || !phases.every((p) => p === "latency" || p === "cpu")) throw new Error("--phases must be latency, cpu or both");
  const percent = Number(values.percent);
  if (!(percent > 0 && percent <= 100)) throw new Error("--percent must be in (0, 100]");
  return { compare, percent, rounds: int("rounds", 1), requests: int("requests", 10), connections, rates, arrivals, phases, microN: int("micro-n", 1), microRounds: int("micro-rounds", 1), out: resolve(values.out!) };
}


const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/**
 * An origin in its own process, as in `npm run bench`: the canary's share of the work
 * (every mirror) must not stall stable's event loop or the load generator's, as it
 * never would with two real origins.
 */
async function originChild(name: string): Promise<{ url: string; requests(): Promise<number>; close(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), ["--origin-child", name], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const url = await new Promise<string>((ok, fail) => {
    child.once("message", (m) => ok((m as { url: string }).url));
    child.once("exit", (code) => fail(new Error(`origin ${name} exited early (${code})`)));
  });
  return {
    url,
    requests: async () => ((await (await fetch(`${url}/__origin/stats`)).json()) as { requests: number }).requests,
    close: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}

/** The control arm's extra origin requests: what shadow 100% adds to the origins, sent by the load generator. */
interface DirectMirrors {
  canary: string;
  stable: string;
  agent: Agent;
}

function directGet(origin: string, agent: Agent): Promise<void> {
  const u = new URL(origin);
  return new Promise((ok) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: `/bytes?n=${PAGE_BYTES}`, agent, headers: { "x-canary-shadow": "1", accept: "text/html" } }, (res) => {
      res.resume();
      res.on("end", () => ok());
      res.on("error", () => ok());
    });
    req.on("error", () => ok());
    req.end();
  });
}

/**
 * One GET of the page to host `<mode>.bench`: resolves with ms from `from` (hrtime, ns) to
 * its last byte. With `direct`, its response's headers also send the canary (and at
 * LATENCY_PAIRS, stable) the same request, not timed, pushed onto `extra`.
 */
function timedGet(base: URL, mode: Mode, i: number, agent: Agent, ids: readonly string[], from: bigint, extra: Promise<void>[], direct?: DirectMirrors): Promise<number> {
  return new Promise((ok, fail) => {
    const req = httpRequest(
      { host: base.hostname, port: base.port, path: `/bytes?n=${PAGE_BYTES}`, agent, headers: { host: `${mode}.bench`, cookie: `canary_id=${ids[i % ids.length]}`, accept: "text/html" } },
      (res) => {
        if (direct) {
          extra.push(directGet(direct.canary, direct.agent));
          if (Math.random() < LATENCY_PAIRS) extra.push(directGet(direct.stable, direct.agent));
        }
        let bytes = 0;
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => {
          if (res.statusCode !== 200 || bytes !== PAGE_BYTES) return fail(new Error(`${mode}: status ${res.statusCode}, ${bytes} bytes`));
          ok(Number(process.hrtime.bigint() - from) / 1e6);
        });
        res.on("error", fail);
      },
    );
    req.on("error", fail);
    req.end();
  });
}

/** `total` GETs over `connections` closed loops (1: one at a time); ms to the last byte of each, from its send. */
async function closedLoop(base: URL, mode: Mode, total: number, connections: number, agent: Agent, ids: readonly string[], direct?: DirectMirrors): Promise<number[]> {
  const times: number[] = [];
  const extra: Promise<void>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) {
        const i = next++;
        times.push(await timedGet(base, mode, i, agent, ids, process.hrtime.bigint(), extra, direct));
      }
    }),
  );
  await Promise.all(extra);
  return times;
}

/** Send offsets, ms from the start, of `total` requests at `rate` per second: exponential gaps (Poisson arrivals) or even ones. */
function arrivalSchedule(total: number, rate: number, arrivals: "poisson" | "fixed"): number[] {
  const gap = 1000 / rate;
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < total; i++) {
    out.push(t);
    t += arrivals === "fixed" ? gap : -Math.log(1 - Math.random()) * gap;
  }
  return out;
}

/**
 * Open loop: request i is due at start + offsets[i] whatever the earlier ones are doing.
 * Node's timers wake at millisecond steps, so a request leaves up to about a millisecond
 * after it was due; `scheduled` times it from when it was due (what a user arriving then
 * waits: no coordinated omission), `sent` from when it left, and `lag` is the difference,
 * the load generator's own share, the same for every arm.
 */
async function openLoop(base: URL, mode: Mode, offsets: readonly number[], agent: Agent, ids: readonly string[], direct?: DirectMirrors): Promise<{ scheduled: number[]; sent: number[]; lag: number[] }> {
  const scheduled: number[] = [];
  const sent: number[] = [];
  const lag: number[] = [];
  const extra: Promise<void>[] = [];
  const inFlight: Promise<void>[] = [];
  const start = process.hrtime.bigint() + 2_000_000n;
  const due = (i: number): bigint => start + BigInt(Math.round(offsets[i]! * 1e6));
  let next = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = process.hrtime.bigint();
      while (next < offsets.length && due(next) <= now) {
        const i = next++;
        const at = due(i);
        const left = process.hrtime.bigint();
        lag.push(Number(left - at) / 1e6);
        inFlight.push(
          timedGet(base, mode, i, agent, ids, at, extra, direct).then((ms) => {
            scheduled.push(ms);
            sent.push(ms - Number(left - at) / 1e6);
          }),
        );
      }
      if (next >= offsets.length) return done();
      setTimeout(tick, Math.max(0, Number(due(next) - process.hrtime.bigint()) / 1e6));
    };
    setTimeout(tick, 2);
  });
  await Promise.all(inFlight);
  await Promise.all(extra);
  return { scheduled, sent, lag };
}

interface LatencyRow {
  /** How the load was offered: "closed, 1 conn", "open 200/s, from due", ... */
  load: string;
  p50: Record<Arm, number[]>;
  p99: Record<Arm, number[]>;
  all: Record<Arm, number[]>;
}

const latencyRow = (load: string): LatencyRow => ({ load, p50: { off: [], on: [], control: [] }, p99: { off: [], on: [], control: [] }, all: { off: [], on: [], control: [] } });

function addRound(row: LatencyRow, arm: Arm, times: number[]): void {
  const t = [...times].sort((x, y) => x - y);
  row.p50[arm].push(quantile(t, 0.5));
  row.p99[arm].push(quantile(t, 0.99));
  row.all[arm].push(...t);
}

/** The open-loop generator's send lag (ms after due) per rate and arm, all rounds pooled. */
type LagRow = { rate: number; lag: Record<Arm, number[]> };

async function latencyPhase(
  args: ReturnType<typeof readArgs>,
): Promise<{ rows: LatencyRow[]; lags: LagRow[]; mirrors: number; references: number; onRequests: number }> {
  const stable = await originChild("stable");
  const canary = await originChild("canary");
  const worker = await startLocalWorker({ config: latencyConfig(stable.url, canary.url, args.compare, args.percent) });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const direct: DirectMirrors = { canary: canary.url, stable: stable.url, agent: new Agent({ keepAlive: true, maxSockets: 64 }) };
  const ids = identityPool(1000);
  try {
    // Warm-up: config load, the coordinator's first sync confirming the shadow stage, JIT.
    for (let i = 0; i < 3; i++) {
      for (const mode of MODES) await closedLoop(worker.url, mode, 50, 1, agent, ids);
      await new Promise((r) => setTimeout(r, 1200));
    }
    const before = await canary.requests();
    await closedLoop(worker.url, "on", 20, 1, agent, ids);
    await new Promise((r) => setTimeout(r, 200));
    const reached = (await canary.requests()) - before;
    if (reached < (20 * args.percent) / 100 - 5) throw new Error(`the shadow route is not mirroring (${reached} of 20 reached the canary)`);
    const rows: LatencyRow[] = [];
    const lags: LagRow[] = [];
    let mirrors = 0;
    let references = 0;
    let onRequests = 0;
    /** One arm's batch, counting what the on route sent the origins. */
    const counted = async <T>(arm: Arm, run: () => Promise<T>): Promise<T> => {
      const c0 = await canary.requests();
      const s0 = await stable.requests();
      const out = await run();
      // The mirrors of this batch end within a few ms; let them, so the next batch starts clean.
      await new Promise((res) => setTimeout(res, 100));
      if (arm === "on") {
        const sent = (await canary.requests()) - c0;
        // Each identity is mirrored or not by its bucket, so at 100% every request is.
        if (args.percent === 100 && sent < args.requests) throw new Error(`on.bench mirrored ${sent} of ${args.requests} requests: the shadow stage ended (see the rollout log above)`);
        mirrors += sent;
        references += (await stable.requests()) - s0 - args.requests;
        onRequests += args.requests;
      }
      return out;
    };
    const modeOf = (arm: Arm): Mode => (arm === "control" ? "off" : arm);
    for (const connections of args.connections) {
      const row = latencyRow(`closed, ${connections} conn`);
      for (let r = 0; r < args.rounds; r++) {
        for (const arm of shuffled(ARMS)) {
          addRound(row, arm, await counted(arm, () => closedLoop(worker.url, modeOf(arm), args.requests, connections, agent, ids, arm === "control" ? direct : undefined)));
        }
      }
      rows.push(row);
    }
    for (const rate of args.rates) {
      const due = latencyRow(`open ${rate}/s, from due`);
      const sent = latencyRow(`open ${rate}/s, from send`);
      const lag: LagRow = { rate, lag: { off: [], on: [], control: [] } };
      for (let r = 0; r < args.rounds; r++) {
        // One schedule per round for all three arms: they differ only in what the Worker does.
        const offsets = arrivalSchedule(args.requests, rate, args.arrivals);
        for (const arm of shuffled(ARMS)) {
          const t = await counted(arm, () => openLoop(worker.url, modeOf(arm), offsets, agent, ids, arm === "control" ? direct : undefined));
          addRound(due, arm, t.scheduled);
          addRound(sent, arm, t.sent);
          lag.lag[arm].push(...t.lag);
        }
      }
      rows.push(due, sent);
      lags.push(lag);
    }
    return { rows, lags, mirrors, references, onRequests };
  } finally {
    agent.destroy();
    direct.agent.destroy();
    await worker.dispose();
    await stable.close();
    await canary.close();
  }
}

/** The json route's page: a JSON document of about PAGE_BYTES (ASCII, so its length is its byte count). */
function jsonPage(): string {
  const items: unknown[] = [];
  const doc = { page: 2, items };
  for (let i = 0; JSON.stringify(doc).length < PAGE_BYTES - 100; i++) items.push({ id: i, name: `item ${i}`, price: Math.round(i * 1.37 * 100) / 100, tags: ["edge", "canary"], stock: i % 7 === 0 });
  return JSON.stringify(doc);
}

/** The in-isolate harness: each route's handler n times per batch, origin answered in the isolate (JSON under /json/), every waitUntil awaited. */
const harness = (ids: readonly string[], json: string): string => `
import ec from "./index.js";
export { Coordinator } from "./index.js";
const ORIGIN = "http://127.0.0.1:9";
const PAGE = "<p>edge-canary bench page</p>\\n".repeat(${Math.ceil(PAGE_BYTES / 30)}).slice(0, ${PAGE_BYTES});
const HEADERS = { "content-type": "text/html; charset=utf-8", "content-length": "${PAGE_BYTES}" };
const JSON_PAGE = ${JSON.stringify(json)};
const JSON_HEADERS = { "content-type": "application/json", "content-length": String(JSON_PAGE.length) };
const IDS = ${JSON.stringify(ids)};
const realFetch = globalThis.fetch;
let mirrored = 0;
const localOrigin = async (input, init) => {
  const req = input instanceof Request && init === undefined ? input : new Request(input, init);
  if (!req.url.startsWith(ORIGIN)) return realFetch(req);
  // A mirror is the canary's; a reference request (latencyPairs) is stable's, also marked.
  if (req.headers.get("x-canary-shadow") === "1" && req.headers.get("x-canary-variant") === "canary") mirrored++;
  if (req.url.startsWith(ORIGIN + "/json/")) return new Response(JSON_PAGE, { status: 200, headers: JSON_HEADERS });
  return new Response(PAGE, { status: 200, headers: HEADERS });
};
let served = 0;
export default {
  async fetch(request, env, ctx) {
    const u = new URL(request.url);
    if (u.pathname !== "/__shadow-bench") return ec.fetch(request, env, ctx);
    const mode = u.searchParams.get("mode");
    const n = Number(u.searchParams.get("n"));
    globalThis.fetch = localOrigin;
    let ok = 0;
    const m0 = mirrored;
    // A recorded outcome may return the coordinator client's trailing sync, which waits
    // for the next sync interval (about a second): a request waits a moment for its
    // waitUntil work (the mirror ends well within it) and the batch's end for the rest.
    // Waiting is idle time, not CPU, and the clock is the process's CPU time.
    const later = [];
    try {
      for (let i = 0; i < n; i++) {
        const id = IDS[served++ % IDS.length];
        const req = new Request("http://127.0.0.1/" + (mode === "baseline" ? "off" : mode) + "/page", { headers: { cookie: "canary_id=" + id, accept: "text/html" }, cf: ${JSON.stringify(LOCAL_CF)} });
        if (mode === "baseline") continue;
        const pending = [];
        const c = { waitUntil: (p) => void pending.push(p), passThroughOnException() {}, props: {} };
        const res = await ec.fetch(req, env, c);
        const body = await res.arrayBuffer();
        if (res.status === 200 && body.byteLength === (mode === "json" ? JSON_PAGE.length : ${PAGE_BYTES})) ok++;
        const all = Promise.all(pending);
        later.push(all);
        await Promise.race([all, new Promise((r) => setTimeout(r, 50))]);
      }
      await Promise.all(later);
    } finally {
      globalThis.fetch = realFetch;
    }
    return Response.json({ ok, mirrored: mirrored - m0 });
  },
};
`;

type CpuMode = "baseline" | "off" | CpuRoute;

async function cpuPhase(args: ReturnType<typeof readArgs>): Promise<{ own: Record<"off" | CpuRoute, number[]>; baseline: number; clock: string }> {
  const bundle = await bundleWorker(repoRoot);
  const dir = dirname(bundle.scriptPath);
  await writeFile(join(dir, "harness.js"), harness(identityPool(1000), jsonPage()));
  const options = await edgeCanaryOptions(join(dir, "harness.js"), repoRoot);
  const modules = ["harness.js", "index.js"].map((file) => ({ type: "ESModule" as const, path: join(dir, file) }));
  const before = workerdChildren();
  const mf = new Miniflare({ ...options, scriptPath: undefined, modules, port: undefined, host: undefined } as MiniflareOptions);
  try {
    await mf.ready;
    const pid = [...workerdChildren()].find((p) => !before.has(p));
    const cpu = cpuNs(pid) === undefined ? undefined : () => cpuNs(pid)! / 1000;
    const now = cpu ?? (() => performance.now() * 1000);
    const kv = await mf.getKVNamespace("CANARY_CONFIG");
    await kv.put("config", JSON.stringify(cpuConfig("http://127.0.0.1:9")));
    const batch = async (mode: CpuMode, n: number): Promise<number> => {
      const started = now();
      const res = await mf.dispatchFetch(`http://127.0.0.1/__shadow-bench?mode=${mode}&n=${n}`);
      const body = (await res.json()) as { ok: number; mirrored: number };
      const us = (now() - started) / n;
      if (mode !== "baseline" && body.ok !== n) throw new Error(`${mode}: ${body.ok} of ${n} answered 200 with the whole page`);
      if (mode !== "baseline" && mode !== "off" && body.mirrored !== n) throw new Error(`${mode}: ${body.mirrored} of ${n} requests mirrored (the shadow stage not confirmed yet?)`);
      if (mode === "off" && body.mirrored !== 0) throw new Error(`off: ${body.mirrored} requests mirrored`);
      return us;
    };
    const modes: CpuMode[] = ["baseline", "off", ...CPU_ROUTES.map((r) => r.id)];
    // Warm-up until the coordinator has confirmed every shadow stage (its first sync).
    for (let i = 0; ; i++) {
      try {
        for (const mode of modes) await batch(mode, 50);
        break;
      } catch (e) {
        if (i === 20) throw e;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    const times = Object.fromEntries(modes.map((m) => [m, [] as number[]])) as Record<CpuMode, number[]>;
    for (let r = 0; r <= args.microRounds; r++) {
      for (const mode of shuffled(modes)) {
        await batch(mode, Math.ceil(args.microN / 10));
        const us = await batch(mode, args.microN);
        if (r > 0) times[mode].push(us);
      }
    }
    const baseline = median(times.baseline);
    const own = Object.fromEntries(modes.filter((m) => m !== "baseline").map((m) => [m, times[m].map((x) => x - baseline)])) as Record<"off" | CpuRoute, number[]>;
    return { own, baseline, clock: cpu ? "workerd CPU" : "wall" };
  } finally {
    await mf.dispose();
    await bundle.cleanup();
  }
}

const CPU_LABELS: Record<CpuRoute, string> = {
  status: "status",
  headers: "headers",
  body: "body",
  json: "json (a 16 KiB JSON document)",
  nopairs: "body, latencyPairs 0 (no reference request)",
};

async function main(): Promise<void> {
  const args = readArgs();
  const latency = args.phases.includes("latency") ? await latencyPhase(args) : undefined;
  const cpu = args.phases.includes("cpu") ? await cpuPhase(args) : undefined;
  const pct = (on: number, off: number): string => `${((on / off - 1) * 100 >= 0 ? "+" : "")}${((on / off - 1) * 100).toFixed(1)}%`;
  const latencyRows = (latency?.rows ?? []).flatMap((row) => {
    const sorted = (a: Arm) => [...row.all[a]].sort((x, y) => x - y);
    const all = { off: sorted("off"), on: sorted("on"), control: sorted("control") };
    return (["p50", "p99"] as const).map((q) => {
      const qq = q === "p50" ? 0.5 : 0.99;
      const off = quantile(all.off, qq);
      const on = quantile(all.on, qq);
      const control = quantile(all.control, qq);
      const perRound = row[q].on.map((x, i) => (x / row[q].off[i]! - 1) * 100);
      const perRoundControl = row[q].on.map((x, i) => (x / row[q].control[i]! - 1) * 100);
      return `| ${row.load} | ${q} | ${off.toFixed(3)} | ${control.toFixed(3)} | ${on.toFixed(3)} | ${pct(on, off)} | ${medianRange(perRound, 1)} | ${pct(on, control)} | ${medianRange(perRoundControl, 1)} |`;
    });
  });
  const lagLine = (l: LagRow): string => {
    const q = (arm: Arm, p: number) => quantile([...l.lag[arm]].sort((x, y) => x - y), p).toFixed(3);
    return `${l.rate}/s: ${ARMS.map((arm) => `${arm} p50 ${q(arm, 0.5)}, p99 ${q(arm, 0.99)}`).join("; ")}`;
  };
  const cpuLines = cpu
    ? [
        `CPU per request in the isolate (${cpu.clock}, µs, median over rounds), and one mirror of a ${PAGE_BYTES / 1024} KiB page = route - off (median of per-round differences, lowest to highest):`,
        "",
        "| route | CPU per request, µs | one mirror, µs |",
        "|---|---:|---:|",
        `| off (no shadow) | ${median(cpu.own.off).toFixed(1)} | |`,
        ...CPU_ROUTES.map((r) => `| shadow 100%, compare ${CPU_LABELS[r.id]} | ${median(cpu.own[r.id]).toFixed(1)} | ${r.id === "body" ? "**" : ""}${medianRange(cpu.own[r.id].map((x, i) => x - cpu.own.off[i]!), 1)}${r.id === "body" ? "**" : ""} |`),
      ]
    : [];
  const method = [
    ...(latency
      ? [
          `latency: one edge-canary (Miniflare), two routes over the same two origins on 127.0.0.1, each origin in its own process; off.bench without shadow, on.bench in a shadow stage at ${args.percent}% with compare "${args.compare}"; GET of a ${PAGE_BYTES}-byte page; ${args.rounds} interleaved rounds of ${args.requests} requests per route and load, random order per round; time to the last byte of the user's response`,
          `closed loop: ${args.connections.join(" and ")} connection(s), each sending its next request when the last one ended`,
          ...(args.rates.length > 0
            ? [
                `open loop: ${args.rates.join(" and ")} requests/s per route, ${args.arrivals === "poisson" ? "Poisson arrivals (exponential gaps)" : "even gaps"}, one schedule per round shared by the three arms, sent whatever the earlier requests are doing (up to 64 sockets, more wait for one); "from due" times each request from its scheduled send (no coordinated omission), "from send" from when the load generator got it out (its timers wake at millisecond steps)`,
                `open-loop send lag of the load generator, ms after due (all rounds): ${latency.lags.map(lagLine).join(" | ")}`,
              ]
            : []),
          `mirrors sent during the latency rounds: ${latency.mirrors} to the canary and ${latency.references} reference requests to stable (shadow.latencyPairs ${LATENCY_PAIRS}, the default) for ${latency.onRequests} requests to on.bench`,
          `control: off.bench, and per response (at its headers) the load generator sends the page's GET to the canary origin and, with probability ${LATENCY_PAIRS}, to the stable origin (x-canary-shadow: 1, not timed, awaited before the batch ends): the same origin work as shadow ${args.percent === 100 ? "100%" : "100% (the control always mirrors every request)"}, without the Worker doing it`,
        ]
      : []),
    ...(cpu
      ? [
          `CPU: each route's handler ${args.microN} times per round inside one workerd request, origin answered in the isolate, every waitUntil (the mirror included) awaited; ${args.microRounds} rounds after a warm-up, routes in random order per round; timed by ${cpu.clock === "wall" ? "the wall clock" : "the workerd process's CPU time"}, minus the baseline (building the requests, ${cpu.baseline.toFixed(1)} µs); a mirror's CPU includes answering its canary (and reference) request in the isolate, where a real origin's bytes would be read off a socket instead`,
        ]
      : []),
  ];
  writeReport(
    args.out,
    `Shadow mirroring: what users pay, and what a mirror costs (compare "${args.compare}")`,
    "bench:shadow",
    method,
    [
      ...(latency
        ? [
            "User-visible latency, ms (all requests of all rounds pooled; per-round change = on/off - 1 of that round's quantile):",
            "",
            `| load | quantile | shadow off | control (off + direct origin requests) | shadow ${args.percent}% | on vs off | per round, % (median, lowest to highest) | on vs control | per round, % |`,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            ...latencyRows,
            "",
          ]
        : []),
      ...cpuLines,
    ],
  );
}

// Entry. Child mode (--origin-child <name>): serve one origin and report its URL over IPC.
const child = process.argv.indexOf("--origin-child");
if (child >= 0) {
  const { startOrigin } = await import("../lib/origin-server.js");
  const origin = await startOrigin(process.argv[child + 1] ?? "origin");
  const stop = (): void => void origin.close().finally(() => process.exit(0));
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", () => {});
  process.send?.({ url: origin.url });
} else {
  await main();
}
