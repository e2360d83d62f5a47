// Request-path benchmark of edge-canary (`npm run bench`). Why: the Worker sits in
// front of every request, so what matters is what it adds over a bare proxy in the
// same runtime, not an absolute number from a shared, noisy machine.
//
// One run:
//  1. starts a real origin (scripts/lib/origin-server.ts) on 127.0.0.1, in a child
//     process so it does not share an event loop with the load generator;
//  2. bundles the Worker with `wrangler deploy --dry-run --outdir <tmp>` and runs it in
//     Miniflare with the bindings of wrangler.jsonc (KV seeded with a weight-50 config
//     whose stable and canary both point at the origin, DO, AE, vars, ADMIN_TOKEN);
//  3. runs scripts/bench/passthrough-worker.js in a second Miniflare (same runtime,
//     same origin) as the baseline;
//  4. drives both over HTTP with autocannon, interleaved A,B,A,B (warm-up before each
//     run), 90% of requests with a `canary_id` cookie from a pool of 10,000 ids (the
//     hashing path), 10% without (the minting path), and takes medians;
//  5. measures the hot path's CPU time in Node (scripts/bench/hot-path.ts);
//  6. prints a markdown table and writes it to scripts/bench/results/proxy-bench.md.
// Everything started is stopped on exit, also on SIGINT/SIGTERM.
//
// Flags: --duration <s> (4) --connections <n> (50) --rounds <n> (12) --warmup <s> (1)
//        --no-cookie-share <0..1> (0.1) --skip-hot-path --out <file> (default
//        results/proxy-bench.md; results/probes/<op>.md with --probe)
//        --no-expose-headers: the route sets exposeHeaders false (responses that need no
//        Set-Cookie go back untouched; shows what the x-canary-* response headers cost)
//        --ref <commit>: build the Worker from a read-only `git archive` snapshot of that
//        commit instead of the working tree (which other people may be editing)
//        --floor: also run scripts/bench/floor-worker.js (timeout + abort, re-wrap with
//        two headers, waitUntil outcome: the mechanisms the issue asks for, none of our
//        logic) in the same rounds, to split the gap into mechanism cost and our own
//        --compare <commit>: also run edge-canary built from that commit in the same
//        rounds, and report per-round paired CPU differences (A/B of a request-path
//        change; the per-round pairing cancels most of the machine's drift)
//        --body-kb <n>: the origin answers with an n KiB page (GET /bytes?n=) instead of
//        the ~300 B JSON, to see the overhead against a response of realistic size
//        --cf-production: every Worker gets request.cf in the ~1 KB shape Cloudflare
//        sends (scripts/lib/production-cf.ts) instead of two fields; edge-canary reads it
//        --browser-headers: the load sends a browser's page request as Cloudflare hands
//        it to a Worker (~21 headers and a longer Cookie, scripts/lib/production-headers.ts)
//        instead of three headers
//        --probe <op>[:<n>]: also run scripts/bench/probe-worker.js, the floor repeating one
//        runtime operation n times (default 10) per request (implies --floor); the paired
//        per-round CPU difference to the floor, divided by n, prices that operation under
//        load (ops: url-parse, headers-get, headers-foreach, headers-keys, headers-new, headers-copy, request-new,
//        request-new-sets, request-new-record)
//        --pin: Linux, 2+ CPUs: the workerd processes on the last CPU, the load generator
//        and the origin on the others (taskset), so they do not share a core; halves
//        the round-to-round spread of an A/B here (paired SD 49 -> 20 µs in A/A runs)
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Instance, Options as AutocannonOptions, Result as AutocannonResult } from "autocannon";
import type { Miniflare, MiniflareOptions } from "miniflare";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { baselineWorkerOptions, bundleWorker, edgeCanaryOptions, snapshotSource } from "../lib/local-worker.js";
import { benchConfigDocument, fmtUs, identityPool, runHotPath, type HotPathResult } from "./hot-path.js";
import { invokedAs, machineLine, signed } from "../lib/bench-report.js";
import { median } from "../lib/median.js";
import { PRODUCTION_CF } from "../lib/production-cf.js";
import { BROWSER_COOKIES, BROWSER_HEADERS } from "../lib/production-headers.js";
import { OPS as PROBE_OPS } from "./probe-worker.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

interface Args {
  duration: number;
  connections: number;
  rounds: number;
  warmup: number;
  noCookieShare: number;
  skipHotPath: boolean;
  exposeHeaders: boolean;
  ref: string | undefined;
  floor: boolean;
  compare: string | undefined;
  /** --probe: the runtime operation the probe Worker repeats, and how often per request. */
  probe: { op: string; n: number } | undefined;
  pin: boolean;
  /** request.cf for every Worker: two fields, or Cloudflare's full shape (--cf-production). */
  cf: Record<string, unknown> | undefined;
  /** The client's headers besides the cookie, and the app cookies sent next to canary_id. */
  client: { headers: Readonly<Record<string, string>>; cookies: string };
  /** The path the load requests: the ~300 B JSON by default, /bytes?n= with --body-kb. */
  path: string;
  out: string;
}

function readArgs(): Args {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "4" },
      connections: { type: "string", default: "50" },
      rounds: { type: "string", default: "12" },
      warmup: { type: "string", default: "1" },
      "no-cookie-share": { type: "string", default: "0.1" },
      "skip-hot-path": { type: "boolean", default: false },
      "no-expose-headers": { type: "boolean", default: false },
      ref: { type: "string" },
      floor: { type: "boolean", default: false },
      compare: { type: "string" },
      probe: { type: "string" },
      pin: { type: "boolean", default: false },
      "cf-production": { type: "boolean", default: false },
      "browser-headers": { type: "boolean", default: false },
      "body-kb": { type: "string", default: "0" },
      out: { type: "string" },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  const bodyKiB = num("body-kb", values["body-kb"], 0);
  const probe = values.probe === undefined ? undefined : readProbe(values.probe);
  return {
    duration: num("duration", values.duration, 1),
    connections: Math.floor(num("connections", values.connections, 1)),
    rounds: Math.floor(num("rounds", values.rounds, 1)),
    warmup: num("warmup", values.warmup, 0),
    noCookieShare: Math.min(1, num("no-cookie-share", values["no-cookie-share"], 0)),
    skipHotPath: values["skip-hot-path"] ?? false,
    exposeHeaders: !(values["no-expose-headers"] ?? false),
    ref: values.ref,
    floor: (values.floor ?? false) || probe !== undefined,
    compare: values.compare,
    probe,
    pin: values.pin ?? false,
    cf: values["cf-production"] ? PRODUCTION_CF : undefined,
    client: values["browser-headers"]
      ? { headers: BROWSER_HEADERS, cookies: BROWSER_COOKIES }
      : { headers: { accept: "application/json", "user-agent": "edge-canary-bench" }, cookies: "app_session=abc" },
    path: bodyKiB > 0 ? `/bytes?n=${Math.round(bodyKiB * 1024)}` : "/api/items?page=2",
    // A probe run records its price next to the others, not over the recorded bench.
    out: resolve(values.out ?? join(here, probe ? `results/probes/${probe.op}.md` : "results/proxy-bench.md")),
  };
}

/** "request-new" or "request-new:20": an operation of probe-worker.js and its repeat count. */
function readProbe(spec: string): { op: string; n: number } {
  const [op = "", count = "10"] = spec.split(":");
  if (!(op in PROBE_OPS)) throw new Error(`--probe: unknown operation "${op}"; one of ${Object.keys(PROBE_OPS).join(", ")}`);
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--probe: the repeat count must be a whole number >= 1, got "${count}"`);
  return { op, n };
}

// --- cleanup: everything we start registers its stop here -------------------------
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let running: Instance | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    running?.stop();
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}

const log = (msg: string): void => console.error(`[bench] ${msg}`);

// --- CPU accounting of the workerd processes (Linux /proc; absent elsewhere) --------
// Wall-clock throughput on a shared 2-CPU box moves with other people's jobs; the CPU
// time workerd spends per request does not, so it is reported next to req/s.
const CLK_TCK = 100; // Linux USER_HZ; `getconf CLK_TCK` is 100 on every mainstream build

function workerdChildren(): Set<number> {
  const out = new Set<number>();
  try {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const rest = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
        if (stat.includes("(workerd)") && rest[1] === String(process.pid)) out.add(Number(name));
      } catch {
        // process went away while scanning
      }
    }
  } catch {
    // no /proc: CPU columns stay empty
  }
  return out;
}

/** utime + stime of a process in ms, or undefined when unreadable. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in MiB, or undefined when unreadable. */
function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** Starts a Miniflare and returns it with the pid of the workerd process it spawned. */
async function startMiniflare(options: MiniflareOptions): Promise<{ mf: Miniflare; url: URL; pid: number | undefined }> {
  const { Miniflare } = await import("miniflare");
  const before = workerdChildren();
  const mf = new Miniflare({ ...options, ...(productionCf ? { cf: productionCf } : {}), handleRuntimeStdio: filterRuntimeStdio } as MiniflareOptions);
  cleanups.push(() => mf.dispose());
  const url = await mf.ready;
  const pid = [...workerdChildren()].find((p) => !before.has(p));
  if (pinning && pid !== undefined) taskset(pinning.workerd, pid);
  return { mf, url, pid };
}

// --cf-production: the request.cf every Worker gets (set once, before any Worker starts).
let productionCf: Record<string, unknown> | undefined;

// --- --pin: the Workers on one CPU, the load generator and the origin on the rest ----
let pinning: { workerd: string; rest: string } | undefined;

function taskset(cpus: string, pid: number): void {
  // -a: every thread of the process.
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
}

/** Pins this process (and so the origin child forked after it) off the Workers' CPU. */
function startPinning(): void {
  const n = availableParallelism();
  if (process.platform !== "linux" || n < 2) throw new Error(`--pin needs Linux and 2+ CPUs (have ${process.platform}, ${n})`);
  pinning = { workerd: String(n - 1), rest: n === 2 ? "0" : `0-${n - 2}` };
  try {
    taskset(pinning.rest, process.pid);
  } catch (e) {
    throw new Error(`--pin needs taskset (util-linux): ${(e as Error).message}`);
  }
}

/**
 * workerd logs a "disconnected: ... Broken pipe / Connection reset" stack each time the
 * load generator closes its sockets at the end of a run: expected, dropped. All else
 * is passed through.
 */
function filterRuntimeStdio(stdout: Readable, stderr: Readable): void {
  stdout.pipe(process.stderr);
  let skipStack = false;
  createInterface({ input: stderr }).on("line", (line) => {
    if (/disconnected: .*(Broken pipe|Connection reset by peer)/.test(line)) {
      skipStack = true;
      return;
    }
    if (skipStack && line.startsWith("stack:")) return;
    skipStack = false;
    process.stderr.write(`[workerd] ${line}\n`);
  });
}

async function startOriginChild(): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(fileURLToPath(import.meta.url), ["--origin-child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  );
  const url = await new Promise<string>((ok, fail) => {
    child.once("message", (m) => ok((m as { url: string }).url));
    child.once("exit", (code) => fail(new Error(`origin child exited early (${code})`)));
  });
  return { url, child };
}

/**
 * Where the Worker is built from: the working tree (default), or with --ref a read-only
 * snapshot of a git commit (`git archive`, no state change), for when the shared tree
 * is mid-edit and does not bundle.
 */
async function sourceDir(ref: string | undefined): Promise<{ dir: string; commit: string | undefined }> {
  if (!ref) return { dir: root, commit: undefined };
  const snap = await snapshotSource(ref);
  cleanups.push(snap.cleanup);
  return snap;
}

/** edge-canary built from another commit (--compare), on the same origin and config. */
async function startCompared(ref: string, originUrl: string, exposeHeaders: boolean) {
  const snap = await sourceDir(ref);
  const bundle = await bundleWorker(snap.dir);
  cleanups.push(bundle.cleanup);
  log(`compare: edge-canary from commit ${snap.commit}`);
  return startEdgeCanary(bundle.scriptPath, originUrl, snap.dir, exposeHeaders);
}

async function startEdgeCanary(scriptPath: string, originUrl: string, src: string, exposeHeaders: boolean) {
  // Bindings exactly as wrangler.jsonc declares them (KV, DO sqlite, AE, vars).
  const options = await edgeCanaryOptions(scriptPath, src, { ADMIN_TOKEN: "bench-admin-token" });
  const started = await startMiniflare(options);
  const kv = await started.mf.getKVNamespace("CANARY_CONFIG");
  await kv.put("config", benchConfigDocument(originUrl, originUrl, exposeHeaders));
  return { ...started, bundleKiB: statSync(scriptPath).size / 1024, compatibilityDate: (options as { compatibilityDate?: string }).compatibilityDate ?? "2026-04-20" };
}

/** A plain JS Worker of this folder (the passthrough baseline, the floor, the probe) on the origin. */
function startPlainWorker(file: string, originUrl: string, compatibilityDate: string, bindings: Record<string, string> = {}) {
  return startMiniflare(baselineWorkerOptions(file, originUrl, compatibilityDate, bindings));
}

/** The floor must do what it stands for: answer 200 through the re-wrap, variant header set. */
async function checkFloor(base: URL, name = "floor"): Promise<void> {
  const res = await fetch(new URL("/api/items?page=2", base));
  const body = await res.text();
  if (res.status !== 200 || res.headers.get("x-canary-variant") !== "stable") {
    throw new Error(`${name} worker check failed: status ${res.status}, x-canary-variant ${res.headers.get("x-canary-variant")}: ${body.slice(0, 200)}`);
  }
}

/** Sends a few hundred requests one by one and checks what edge-canary did with them. */
async function sanityCheck(base: URL, ids: readonly string[]): Promise<{ canary: number; stable: number; minted: number; n: number }> {
  let canary = 0;
  let stable = 0;
  let minted = 0;
  const n = 400;
  for (let i = 0; i < n; i++) {
    const withCookie = i % 10 !== 0;
    const res = await fetch(new URL(`/api/items?i=${i}`, base), {
      headers: withCookie ? { cookie: `canary_id=${ids[i % ids.length]!}` } : {},
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`sanity check: status ${res.status} from edge-canary`);
    const v = res.headers.get("x-canary-variant");
    if (v === "canary") canary++;
    else if (v === "stable") stable++;
    if (res.headers.get("set-cookie")?.includes("canary_id=")) minted++;
  }
  return { canary, stable, minted, n };
}

interface RunStats {
  label: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** workerd CPU (user + system) per request in µs, undefined without /proc. */
  workerdCpuUs: number | undefined;
  /** Resident memory of the workerd process after the run, MiB; undefined without /proc. */
  workerdRssMiB: number | undefined;
}

const quantile = (sorted: Float64Array, q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
};

async function load(
  url: URL,
  args: Args,
  ids: readonly string[],
  seconds: number,
): Promise<{ result: AutocannonResult; latencies: Float64Array }> {
  const { default: autocannon } = await import("autocannon");
  let next = 0;
  const noCookieEvery = args.noCookieShare > 0 ? Math.round(1 / args.noCookieShare) : 0;
  const opts: AutocannonOptions = {
    url: new URL(args.path, url).href,
    connections: args.connections,
    duration: seconds,
    headers: args.client.headers as Record<string, string>,
    requests: [
      {
        method: "GET",
        setupRequest: (req) => {
          const i = next++;
          const headers: Record<string, string> = { ...args.client.headers };
          if (!(noCookieEvery > 0 && i % noCookieEvery === 0)) headers.cookie = `canary_id=${ids[i % ids.length]!}; ${args.client.cookies}`;
          return { ...req, headers };
        },
      },
    ],
  };
  // Our own latency record: autocannon's histogram has 1 ms resolution, too coarse
  // for a difference of fractions of a millisecond.
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let done!: (r: { err: unknown; result: AutocannonResult }) => void;
  const finished = new Promise<{ err: unknown; result: AutocannonResult }>((ok) => (done = ok));
  const instance = autocannon(opts, (err, result) => done({ err, result }));
  running = instance;
  instance.on("response", (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (n === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[n++] = responseTime;
  });
  const { err, result } = await finished;
  running = undefined;
  if (err) throw err instanceof Error ? err : new Error(String(err));
  return { result, latencies: lat.subarray(0, n).sort() };
}

async function measure(label: string, round: number, target: { url: URL; pid: number | undefined }, args: Args, ids: readonly string[]): Promise<RunStats> {
  const url = target.url;
  if (args.warmup > 0) await load(url, args, ids, args.warmup);
  const cpu0 = cpuMs(target.pid);
  const { result, latencies } = await load(url, args, ids, args.duration);
  const cpu1 = cpuMs(target.pid);
  const stats: RunStats = {
    label,
    round,
    rps: result.requests.total / (result.duration || args.duration),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    workerdCpuUs: cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1000) / Math.max(1, result.requests.total) : undefined,
    workerdRssMiB: rssMiB(target.pid),
  };
  log(
    `round ${round} ${label.padEnd(12)} ${stats.rps.toFixed(0).padStart(6)} req/s  p50 ${stats.p50.toFixed(2)} ms  p99 ${stats.p99.toFixed(2)} ms  ` +
      `workerd CPU ${stats.workerdCpuUs?.toFixed(0) ?? "?"} µs/req  RSS ${stats.workerdRssMiB?.toFixed(0) ?? "?"} MiB  errors ${stats.errors} timeouts ${stats.timeouts} non2xx ${stats.non2xx}`,
  );
  return stats;
}

const f1 = (x: number): string => x.toFixed(0);
const f2 = (x: number): string => x.toFixed(2);

function report(
  args: Args,
  command: string,
  pass: RunStats[],
  edge: RunStats[],
  extra: { floor: RunStats[]; compared: RunStats[]; probe: RunStats[] },
  hot: HotPathResult | undefined,
  sanity: { canary: number; stable: number; minted: number; n: number },
  originUrl: string,
  bundleKiB: number,
  startedAt: Date,
  commit: string | undefined,
): string {
  const { floor, compared, probe } = extra;
  const m = (xs: RunStats[], k: "rps" | "p50" | "p99"): number => median(xs.map((x) => x[k]));
  const mc = (xs: RunStats[]): number | undefined =>
    xs.every((x) => x.workerdCpuUs !== undefined) ? median(xs.map((x) => x.workerdCpuUs ?? 0)) : undefined;
  const cpuPass = mc(pass);
  const cpuEdge = mc(edge);
  const fc = (x: number | undefined): string => (x === undefined ? "n/a" : f1(x));
  const sum = (xs: RunStats[], k: "errors" | "timeouts" | "non2xx" | "requests"): number => xs.reduce((a, x) => a + x[k], 0);
  const ratios = edge.map((e, i) => e.rps / pass[i]!.rps);
  const ratio = m(edge, "rps") / m(pass, "rps");
  const ratioMed = median(ratios);
  const bad = (xs: RunStats[]): number => sum(xs, "errors") + sum(xs, "timeouts") + sum(xs, "non2xx");
  const ok = (b: boolean): string => (b ? "meets" : "**misses**");
  const lines = [
    `# edge-canary request-path benchmark`,
    ``,
    `- date: ${startedAt.toISOString()}`,
    `- machine: ${machineLine()}`,
    `- command: \`${command}\``,
    `- load: autocannon ${args.connections} connections, ${args.duration} s per run after a ${args.warmup} s warm-up, ` +
      `${args.rounds} rounds interleaved ${["passthrough", "edge-canary", ...(args.floor ? ["floor"] : []), ...(args.compare ? [`edge-canary@${args.compare}`] : []), ...(args.probe ? ["probe"] : [])].join("/")}, medians${args.pin ? "; workerd pinned to its own CPU (--pin)" : ""}; GET ${args.path}, ` +
      `${Math.round((1 - args.noCookieShare) * 100)}% with a \`canary_id\` cookie from 10,000 ids, ${Math.round(args.noCookieShare * 100)}% without (minted)`,
    `- runtime: Miniflare (workerd) one instance per Worker, HTTP on 127.0.0.1; origin: scripts/lib/origin-server.ts on ${originUrl} (loopback, separate process, ${args.path.startsWith("/bytes") ? `${args.path.slice("/bytes?n=".length)} B page` : "~300 B JSON"})`,
    `- Worker source: ${commit ? `git commit ${commit} (--ref ${args.ref}, snapshot via git archive)` : "working tree"}`,
    `- request.cf: ${args.cf ? "Cloudflare's full shape, ~1 KB (--cf-production)" : "two fields (colo, country)"}`,
    `- client headers: ${Object.keys(args.client.headers).length} plus the cookie${args.client.headers === BROWSER_HEADERS ? " (a browser's page request through Cloudflare, --browser-headers)" : ""}`,
    `- edge-canary config: one catch-all route, weight 50, stable and canary both the origin, exposeHeaders ${args.exposeHeaders}; bundle ${bundleKiB.toFixed(0)} KiB`,
    `- sanity check before load (${sanity.n} sequential requests): ${sanity.canary} canary / ${sanity.stable} stable, ${sanity.minted} minted cookies`,
    ``,
    `## Results`,
    ``,
    `| metric | passthrough | edge-canary | edge-canary vs passthrough | target |`,
    `|---|---:|---:|---:|---|`,
    `| requests/s (median of ${args.rounds}) | ${f1(m(pass, "rps"))} | ${f1(m(edge, "rps"))} | ratio **${f2(ratio)}** (median of per-round ratios ${f2(ratioMed)}) | >= 0.90: ${ok(ratio >= 0.9)} |`,
    `| latency p50 (ms, median of runs) | ${f2(m(pass, "p50"))} | ${f2(m(edge, "p50"))} | ${signed(m(edge, "p50") - m(pass, "p50"), 2)} ms | |`,
    `| latency p99 (ms, median of runs) | ${f2(m(pass, "p99"))} | ${f2(m(edge, "p99"))} | ${signed(m(edge, "p99") - m(pass, "p99"), 2)} ms | |`,
    `| workerd CPU per request (µs, user+sys, median of runs) | ${fc(cpuPass)} | ${fc(cpuEdge)} | ${cpuPass !== undefined && cpuEdge !== undefined ? `${cpuEdge >= cpuPass ? "+" : ""}${f1(cpuEdge - cpuPass)} µs (x${f2(cpuEdge / cpuPass)})` : ""} | |`,
    `| workerd RSS after the first / last round (MiB) | ${fc(pass[0]?.workerdRssMiB)} / ${fc(pass.at(-1)?.workerdRssMiB)} | ${fc(edge[0]?.workerdRssMiB)} / ${fc(edge.at(-1)?.workerdRssMiB)} | | |`,
    `| errors + timeouts + non-2xx | ${bad(pass)} | ${bad(edge)} | | 0: ${ok(bad(pass) + bad(edge) === 0)} |`,
    `| requests measured (all rounds) | ${sum(pass, "requests")} | ${sum(edge, "requests")} | | |`,
  ];
  if (hot) {
    lines.push(
      `| hot-path CPU per request, config cached (Node, µs, median of ${hot.rounds} x ${hot.iterations}) | ${fmtUs(hot.baselineNs)} (baseline loop) | ${fmtUs(hot.hotNs)} | +${fmtUs(hot.addedNs)} µs | < 50 µs: ${ok(hot.hotNs < 50_000)} |`,
    );
  }
  lines.push(
    ``,
    `## Raw runs`,
    ``,
    `| round | worker | req/s | p50 ms | p99 ms | workerd CPU µs/req | workerd RSS MiB after | requests | errors | timeouts | non-2xx |`,
    `|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...pass.flatMap((p, i) =>
      [p, edge[i]!, ...[floor[i], compared[i], probe[i]].filter((r) => r !== undefined)].map((r) => `| ${r.round} | ${r.label} | ${f1(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${fc(r.workerdCpuUs)} | ${fc(r.workerdRssMiB)} | ${r.requests} | ${r.errors} | ${r.timeouts} | ${r.non2xx} |`),
    ),
    ``,
    `Per-round throughput ratios edge-canary/passthrough: ${ratios.map(f2).join(", ")}.`,
  );
  if (floor.length > 0) {
    const cpuFloor = mc(floor);
    const floorRatios = floor.map((f, i) => f.rps / pass[i]!.rps);
    lines.push(
      ``,
      `## Floor: the required mechanisms alone (--floor)`,
      ``,
      `scripts/bench/floor-worker.js: origin timeout with abort, response re-wrapped with two headers, outcome in waitUntil; no config, routing, cohorts, header hygiene or sinks. Same rounds, same origin, same load.`,
      ``,
      `| metric | passthrough | floor | edge-canary |`,
      `|---|---:|---:|---:|`,
      `| requests/s (median) | ${f1(m(pass, "rps"))} | ${f1(m(floor, "rps"))} | ${f1(m(edge, "rps"))} |`,
      `| ratio to passthrough (median of rps; median of per-round ratios) | 1 | ${f2(m(floor, "rps") / m(pass, "rps"))}; ${f2(median(floorRatios))} | ${f2(ratio)}; ${f2(ratioMed)} |`,
      `| workerd CPU per request (µs, median) | ${fc(cpuPass)} | ${fc(cpuFloor)} | ${fc(cpuEdge)} |`,
      `| errors + timeouts + non-2xx | ${bad(pass)} | ${bad(floor)} | ${bad(edge)} |`,
      ``,
      `Per-round throughput ratios floor/passthrough: ${floorRatios.map(f2).join(", ")}.`,
    );
  }
  if (compared.length > 0) lines.push(...compareSection(args.compare!, pass, edge, compared));
  if (probe.length > 0) lines.push(...probeSection(args.probe!, floor, probe));
  if (hot) {
    lines.push(
      ``,
      `Hot path (scripts/bench/hot-path.ts), ns per request per round: baseline ${hot.baselineRoundsNs.map(f1).join(", ")}; ` +
        `hot ${hot.hotRoundsNs.map(f1).join(", ")}; canary share ${(hot.canaryShare * 100).toFixed(1)}% at weight 50. ` +
        `Baseline = new URL + Headers copy; hot = matchRoute, resolveIdentity, override lookup, bucketOf(releaseSalt), variantFor, originUrl, headers copy + sanitizeOriginHeaders.`,
    );
  }
  lines.push(``);
  return lines.join("\n");
}

/** Per round, a's workerd CPU per request minus b's (rounds without /proc numbers are left out). */
function pairedCpuDiffs(a: RunStats[], b: RunStats[]): number[] {
  return a.flatMap((x, i) => {
    const y = b[i]?.workerdCpuUs;
    return x.workerdCpuUs !== undefined && y !== undefined ? [x.workerdCpuUs - y] : [];
  });
}

/** --compare: the working tree's edge-canary against the same Worker from another commit. */
function compareSection(ref: string, pass: RunStats[], edge: RunStats[], other: RunStats[]): string[] {
  const cpuDiffs = pairedCpuDiffs(edge, other);
  const rpsRatios = edge.map((e, i) => e.rps / other[i]!.rps);
  const ratios = (xs: RunStats[]): number => median(xs.map((x, i) => x.rps / pass[i]!.rps));
  return [
    ``,
    `## Compared with edge-canary@${ref} (--compare)`,
    ``,
    `| | edge-canary (this source) | edge-canary@${ref} |`,
    `|---|---:|---:|`,
    `| ratio to passthrough (median of per-round ratios) | ${f2(ratios(edge))} | ${f2(ratios(other))} |`,
    `| workerd CPU per request (µs, median) | ${f1(median(edge.map((x) => x.workerdCpuUs ?? 0)))} | ${f1(median(other.map((x) => x.workerdCpuUs ?? 0)))} |`,
    ``,
    `Paired per round (this source minus @${ref}): workerd CPU ${cpuDiffs.length ? `**${signed(median(cpuDiffs), 0)} µs** per request (median; rounds: ${cpuDiffs.map((d) => signed(d, 0)).join(", ")})` : "n/a (no /proc)"}; ` +
      `throughput ratio ${f2(median(rpsRatios))} (median of per-round ratios).`,
  ];
}

/** --probe: what one runtime operation costs under load, from the probe's paired difference to the floor. */
function probeSection(spec: { op: string; n: number }, floor: RunStats[], probe: RunStats[]): string[] {
  const diffs = pairedCpuDiffs(probe, floor);
  if (diffs.length === 0) return [``, `## Probe (--probe ${spec.op}:${spec.n})`, ``, `n/a: no /proc, so no CPU per request.`];
  const d = median(diffs);
  return [
    ``,
    `## Probe: ${spec.op} x${spec.n} per request (--probe)`,
    ``,
    `scripts/bench/probe-worker.js: the floor Worker, first repeating \`${spec.op}\` ${spec.n} times per request. Same rounds, same origin, same load.`,
    ``,
    `Paired per round (probe minus floor): workerd CPU **${signed(d, 0)} µs** per request (median; rounds: ${diffs.map((x) => signed(x, 0)).join(", ")}), ` +
      `so one \`${spec.op}\` costs about **${signed(d / spec.n, 1)} µs** under this load.`,
  ];
}

async function main(): Promise<void> {
  const args = readArgs();
  // Miniflare can reject internally (e.g. the Worker fails to start); clean up first.
  process.on("unhandledRejection", (e) => {
    console.error(e);
    void cleanup().finally(() => process.exit(1));
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping load, Miniflare instances and origin...`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const startedAt = new Date();
  const command = invokedAs("bench");
  try {
    if (args.pin) startPinning();
    productionCf = args.cf;
    let hot: HotPathResult | undefined;
    if (!args.skipHotPath) {
      log("hot path (Node, config cached)...");
      hot = runHotPath();
      log(`hot path: ${fmtUs(hot.hotNs)} µs/request (baseline ${fmtUs(hot.baselineNs)}, added ${fmtUs(hot.addedNs)})`);
    }

    log("starting origin...");
    const origin = await startOriginChild();
    log(`origin ${origin.url}; bundling the Worker (wrangler deploy --dry-run)...`);
    const source = await sourceDir(args.ref);
    const src = source.dir;
    if (source.commit) log(`building from commit ${source.commit}`);
    const bundle = await bundleWorker(src);
    cleanups.push(bundle.cleanup);
    const scriptPath = bundle.scriptPath;
    const edge = await startEdgeCanary(scriptPath, origin.url, src, args.exposeHeaders);
    const pass = await startPlainWorker("passthrough-worker.js", origin.url, edge.compatibilityDate);
    const floor = args.floor ? await startPlainWorker("floor-worker.js", origin.url, edge.compatibilityDate) : undefined;
    if (floor) await checkFloor(floor.url);
    const probe = args.probe
      ? await startPlainWorker("probe-worker.js", origin.url, edge.compatibilityDate, { PROBE_OP: args.probe.op, PROBE_N: String(args.probe.n) })
      : undefined;
    if (probe) await checkFloor(probe.url, "probe");
    const compare = args.compare ? await startCompared(args.compare, origin.url, args.exposeHeaders) : undefined;
    log(`edge-canary ${edge.url.href} (bundle ${edge.bundleKiB.toFixed(0)} KiB), passthrough ${pass.url.href}`);

    const ids = identityPool(10_000);
    const sanity = await sanityCheck(edge.url, ids);
    log(`sanity: ${sanity.canary} canary / ${sanity.stable} stable of ${sanity.n}, ${sanity.minted} minted`);

    const passRuns: RunStats[] = [];
    const edgeRuns: RunStats[] = [];
    const floorRuns: RunStats[] = [];
    const compareRuns: RunStats[] = [];
    const probeRuns: RunStats[] = [];
    const targets = [
      { label: "passthrough", target: pass, runs: passRuns },
      { label: "edge-canary", target: edge, runs: edgeRuns },
      ...(floor ? [{ label: "floor", target: floor, runs: floorRuns }] : []),
      ...(compare ? [{ label: `edge-canary@${args.compare}`, target: compare, runs: compareRuns }] : []),
      ...(probe ? [{ label: "probe", target: probe, runs: probeRuns }] : []),
    ];
    for (let r = 1; r <= args.rounds; r++) {
      // Rotate who goes first, so a drift in machine load does not favour one side.
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(r - 1 + k) % targets.length]!;
        t.runs.push(await measure(t.label, r, t.target, args, ids));
      }
    }

    const md = report(args, command, passRuns, edgeRuns, { floor: floorRuns, compared: compareRuns, probe: probeRuns }, hot, sanity, origin.url, edge.bundleKiB, startedAt, source.commit);
    console.log(md);
    await mkdir(dirname(args.out), { recursive: true });
    await writeFile(args.out, md);
    log(`written ${relative(root, args.out)} (total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------
// Entry. Child mode (--origin-child): serve the origin and report its URL over IPC.
// ---------------------------------------------------------------------------------
if (process.argv.includes("--origin-child")) {
  const { startOrigin } = await import("../lib/origin-server.js");
  const origin = await startOrigin("bench-origin");
  const stop = (): void => void origin.close().finally(() => process.exit(0));
  process.on("disconnect", stop); // parent gone, however it died
  process.on("SIGTERM", stop);
  process.on("SIGINT", () => {}); // the parent decides when we stop
  process.send?.({ url: origin.url });
} else {
  await main();
}

