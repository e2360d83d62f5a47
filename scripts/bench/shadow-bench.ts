// Shadow mirroring benchmark (`npm run bench:shadow`). Two questions:
//  1. Does mirroring every request slow what the user sees? One edge-canary (the deploy
//     bundle in Miniflare) serves two routes over the same two real origins on
//     127.0.0.1 (each in its own process): host off.bench has no shadow stage, host on.bench is in a shadow stage
//     at 100% with the exact body comparison, the worst case (stable's body is tee'd and
//     hashed, the canary's read and hashed). Interleaved rounds, a new random order each
//     round; per round each route gets the same requests for a 16 KiB page, with
//     `--connections` closed loops (1: one request at a time); time to the last byte of
//     the user's response. Reported: p50 and p99 of each, and on / off per round. A
//     third arm, control, separates the machine doing more origin work (2 shared CPUs)
//     from mirroring on the user's path: off.bench (no shadow), and the load generator
//     itself sends, as each response's headers arrive, the same request to the canary
//     origin and, at the latencyPairs share (0.25, the default), to the stable origin: the
//     origin work of shadow 100% without the Worker doing it. on / control is the cost of
//     mirroring in the Worker.
//  2. What does one mirrored request cost in CPU? Each route's handler runs n times
//     inside one workerd request with the origin answered in the isolate (as in
//     bench:handler), waiting for every mirror to finish; timed by the workerd process's
//     CPU time. on - off is the CPU of one mirror with the body comparison of 16 KiB.
//
//   npm run bench:shadow -- [--rounds 8] [--requests 400] [--connections 1,8]
//                           [--micro-n 2000] [--micro-rounds 15] [--compare body] [--out FILE]
//     --compare: the shadow.compare of on.bench (status, headers, body, json)
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

/** The two routes: the same origins, one of them in a shadow stage at 100% comparing bodies. */
function configDocument(stable: string, canary: string, by: "host" | "path", compare: Compare, percent = 100): unknown {
  const match = (mode: Mode) => (by === "host" ? { hosts: [`${mode}.bench`] } : { pathPrefix: `/${mode}` });
  return {
    version: 1,
    routes: [
      { id: "off", match: match("off"), stable: { origin: stable }, canary: { origin: canary }, release: "bench-1", weight: 0 },
      {
        id: "on",
        match: match("on"),
        stable: { origin: stable },
        canary: { origin: canary },
        release: "bench-1",
        steps: { stages: [{ shadow: { percent } }, { percent: 50 }], minDurationSec: 86_400, minRequests: 1_000_000 },
        shadow: { compare, maxBodyBytes: 1024 * 1024, maxInFlight: 1000 },
      },
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
      percent: { type: "string", default: "100" },
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
  const percent = Number(values.percent);
  if (!(percent > 0 && percent <= 100)) throw new Error("--percent must be in (0, 100]");
  return { compare, percent, rounds: int("rounds", 1), requests: int("requests", 10), connections, microN: int("micro-n", 1), microRounds: int("micro-rounds", 1), out: resolve(values.out!) };
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
 * `total` GETs of the page to host `<mode>.bench`, over `connections` closed loops; ms to the
 * last byte of each. With `direct`, each response's headers also send the canary (and at
 * LATENCY_PAIRS, stable) the same request, not timed, all awaited before returning.
 */
async function timedRequests(base: URL, mode: Mode, total: number, connections: number, agent: Agent, ids: readonly string[], direct?: DirectMirrors): Promise<number[]> {
  const times: number[] = [];
  const extra: Promise<void>[] = [];
  let next = 0;
  const one = (i: number): Promise<void> =>
    new Promise((ok, fail) => {
      const started = process.hrtime.bigint();
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
            times.push(Number(process.hrtime.bigint() - started) / 1e6);
            ok();
          });
          res.on("error", fail);
        },
      );
      req.on("error", fail);
      req.end();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) await one(next++);
    }),
  );
  await Promise.all(extra);
  return times;
}

interface LatencyRow {
  connections: number;
  p50: Record<Arm, number[]>;
  p99: Record<Arm, number[]>;
  all: Record<Arm, number[]>;
}

async function latencyPhase(args: ReturnType<typeof readArgs>): Promise<{ rows: LatencyRow[]; mirrors: number; references: number; onRequests: number }> {
  const stable = await originChild("stable");
  const canary = await originChild("canary");
  const worker = await startLocalWorker({ config: configDocument(stable.url, canary.url, "host", args.compare, args.percent) });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const direct: DirectMirrors = { canary: canary.url, stable: stable.url, agent: new Agent({ keepAlive: true, maxSockets: 64 }) };
  const ids = identityPool(1000);
  try {
    // Warm-up: config load, the coordinator's first sync confirming the shadow stage, JIT.
    for (let i = 0; i < 3; i++) {
      for (const mode of MODES) await timedRequests(worker.url, mode, 50, 1, agent, ids);
      await new Promise((r) => setTimeout(r, 1200));
    }
    const before = await canary.requests();
    await timedRequests(worker.url, "on", 20, 1, agent, ids);
    await new Promise((r) => setTimeout(r, 200));
    const reached = (await canary.requests()) - before;
    if (reached < (20 * args.percent) / 100 - 5) throw new Error(`the shadow route is not mirroring (${reached} of 20 reached the canary)`);
    const rows: LatencyRow[] = [];
    let mirrors = 0;
    let references = 0;
    let onRequests = 0;
    for (const connections of args.connections) {
      const row: LatencyRow = { connections, p50: { off: [], on: [], control: [] }, p99: { off: [], on: [], control: [] }, all: { off: [], on: [], control: [] } };
      for (let r = 0; r < args.rounds; r++) {
        for (const arm of shuffled(ARMS)) {
          const c0 = await canary.requests();
          const s0 = await stable.requests();
          const mode: Mode = arm === "control" ? "off" : arm;
          const t = (await timedRequests(worker.url, mode, args.requests, connections, agent, ids, arm === "control" ? direct : undefined)).sort((a, b) => a - b);
          // The mirrors of this batch end within a few ms; let them, so the next batch starts clean.
          await new Promise((res) => setTimeout(res, 100));
          if (arm === "on") {
            mirrors += (await canary.requests()) - c0;
            references += (await stable.requests()) - s0 - args.requests;
            onRequests += args.requests;
          }
          row.p50[arm].push(quantile(t, 0.5));
          row.p99[arm].push(quantile(t, 0.99));
          row.all[arm].push(...t);
        }
      }
      rows.push(row);
    }
    return { rows, mirrors, references, onRequests };
  } finally {
    agent.destroy();
    direct.agent.destroy();
    await worker.dispose();
    await stable.close();
    await canary.close();
  }
}

/** The in-isolate harness: each route's handler n times per batch, origin answered in the isolate, every waitUntil awaited. */
const harness = (ids: readonly string[]): string => `
import ec from "./index.js";
export { Coordinator } from "./index.js";
const ORIGIN = "http://127.0.0.1:9";
const PAGE = "<p>edge-canary bench page</p>\\n".repeat(${Math.ceil(PAGE_BYTES / 30)}).slice(0, ${PAGE_BYTES});
const HEADERS = { "content-type": "text/html; charset=utf-8", "content-length": "${PAGE_BYTES}" };
const IDS = ${JSON.stringify(ids)};
const realFetch = globalThis.fetch;
let mirrored = 0;
const localOrigin = async (input, init) => {
  const req = input instanceof Request && init === undefined ? input : new Request(input, init);
  if (!req.url.startsWith(ORIGIN)) return realFetch(req);
  // A mirror is the canary's; a reference request (latencyPairs) is stable's, also marked.
  if (req.headers.get("x-canary-shadow") === "1" && req.headers.get("x-canary-variant") === "canary") mirrored++;
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
    try {
      for (let i = 0; i < n; i++) {
        const id = IDS[served++ % IDS.length];
        const req = new Request("http://127.0.0.1/" + (mode === "baseline" ? "off" : mode) + "/page", { headers: { cookie: "canary_id=" + id, accept: "text/html" }, cf: ${JSON.stringify(LOCAL_CF)} });
        if (mode === "baseline") continue;
        const pending = [];
        const c = { waitUntil: (p) => void pending.push(p), passThroughOnException() {}, props: {} };
        const res = await ec.fetch(req, env, c);
        const body = await res.arrayBuffer();
        if (res.status === 200 && body.byteLength === ${PAGE_BYTES}) ok++;
        await Promise.all(pending);
      }
    } finally {
      globalThis.fetch = realFetch;
    }
    return Response.json({ ok, mirrored: mirrored - m0 });
  },
};
`;

async function cpuPhase(args: ReturnType<typeof readArgs>): Promise<{ own: Record<Mode, number[]>; baseline: number; clock: string }> {
  const bundle = await bundleWorker(repoRoot);
  const dir = dirname(bundle.scriptPath);
  await writeFile(join(dir, "harness.js"), harness(identityPool(1000)));
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
    await kv.put("config", JSON.stringify(configDocument("http://127.0.0.1:9", "http://127.0.0.1:9", "path", args.compare)));
    const batch = async (mode: Mode | "baseline", n: number): Promise<number> => {
      const started = now();
      const res = await mf.dispatchFetch(`http://127.0.0.1/__shadow-bench?mode=${mode}&n=${n}`);
      const body = (await res.json()) as { ok: number; mirrored: number };
      const us = (now() - started) / n;
      if (mode !== "baseline" && body.ok !== n) throw new Error(`${mode}: ${body.ok} of ${n} answered 200 with the whole page`);
      if (mode === "on" && body.mirrored !== n) throw new Error(`on: ${body.mirrored} of ${n} requests mirrored (the shadow stage not confirmed yet?)`);
      if (mode === "off" && body.mirrored !== 0) throw new Error(`off: ${body.mirrored} requests mirrored`);
      return us;
    };
    // Warm-up until the coordinator has confirmed the shadow stage (its first sync).
    for (let i = 0; ; i++) {
      await batch("off", 50);
      try {
        await batch("on", 50);
        break;
      } catch (e) {
        if (i === 20) throw e;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    const times: Record<Mode | "baseline", number[]> = { baseline: [], off: [], on: [] };
    for (let r = 0; r <= args.microRounds; r++) {
      for (const mode of shuffled(["baseline", ...MODES] as const)) {
        await batch(mode, Math.ceil(args.microN / 10));
        const us = await batch(mode, args.microN);
        if (r > 0) times[mode].push(us);
      }
    }
    const baseline = median(times.baseline);
    return { own: { off: times.off.map((x) => x - baseline), on: times.on.map((x) => x - baseline) }, baseline, clock: cpu ? "workerd CPU" : "wall" };
  } finally {
    await mf.dispose();
    await bundle.cleanup();
  }
}

async function main(): Promise<void> {
  const args = readArgs();
  const latency = await latencyPhase(args);
  const cpu = await cpuPhase(args);
  const pct = (on: number, off: number): string => `${((on / off - 1) * 100 >= 0 ? "+" : "")}${((on / off - 1) * 100).toFixed(1)}%`;
  const latencyRows = latency.rows.flatMap((row) => {
    const sorted = (a: Arm) => [...row.all[a]].sort((x, y) => x - y);
    const all = { off: sorted("off"), on: sorted("on"), control: sorted("control") };
    return (["p50", "p99"] as const).map((q) => {
      const qq = q === "p50" ? 0.5 : 0.99;
      const off = quantile(all.off, qq);
      const on = quantile(all.on, qq);
      const control = quantile(all.control, qq);
      const perRound = row[q].on.map((x, i) => (x / row[q].off[i]! - 1) * 100);
      const perRoundControl = row[q].on.map((x, i) => (x / row[q].control[i]! - 1) * 100);
      return `| ${row.connections} | ${q} | ${off.toFixed(3)} | ${control.toFixed(3)} | ${on.toFixed(3)} | ${pct(on, off)} | ${medianRange(perRound, 1)} | ${pct(on, control)} | ${medianRange(perRoundControl, 1)} |`;
    });
  });
  const diffs = cpu.own.on.map((x, i) => x - cpu.own.off[i]!);
  writeReport(
    args.out,
    `Shadow mirroring: what users pay, and what a mirror costs (compare "${args.compare}")`,
    "bench:shadow",
    [
      `latency: one edge-canary (Miniflare), two routes over the same two origins on 127.0.0.1, each origin in its own process; off.bench without shadow, on.bench in a shadow stage at ${args.percent}% with compare "${args.compare}"; GET of a ${PAGE_BYTES}-byte page; ${args.rounds} interleaved rounds of ${args.requests} requests per route and connection count, random order per round; time to the last byte of the user's response`,
      `CPU: each route's handler ${args.microN} times per round inside one workerd request, origin answered in the isolate, every waitUntil (the mirror included) awaited; ${args.microRounds} rounds after a warm-up; timed by ${cpu.clock === "wall" ? "the wall clock" : "the workerd process's CPU time"}, minus the baseline (building the requests, ${cpu.baseline.toFixed(1)} µs)`,
      `mirrors sent during the latency rounds: ${latency.mirrors} to the canary and ${latency.references} reference requests to stable (shadow.latencyPairs ${LATENCY_PAIRS}, the default) for ${latency.onRequests} requests to on.bench`,
      `control: off.bench, and per response (at its headers) the load generator sends the page's GET to the canary origin and, with probability ${LATENCY_PAIRS}, to the stable origin (x-canary-shadow: 1, not timed, awaited before the batch ends): the same origin work as shadow ${args.percent === 100 ? "100%" : "100% (the control always mirrors every request)"}, without the Worker doing it`,
    ],
    [
      "User-visible latency, ms (all requests of all rounds pooled; per-round change = on/off - 1 of that round's quantile):",
      "",
      `| connections | quantile | shadow off | control (off + direct origin requests) | shadow ${args.percent}% | on vs off | per round, % (median, lowest to highest) | on vs control | per round, % |`,
      "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
      ...latencyRows,
      "",
      `CPU per request in the isolate (${cpu.clock}, µs, median over rounds): shadow off ${median(cpu.own.off).toFixed(1)}, shadow 100% ${median(cpu.own.on).toFixed(1)}; one mirror with compare "${args.compare}" of a ${PAGE_BYTES / 1024} KiB page: **${medianRange(diffs, 1)} µs** (median of per-round differences, lowest to highest).`,
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
