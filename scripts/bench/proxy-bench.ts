// Request-path benchmark (`npm run bench`). The question: what does edge-canary cost on
// every request, against a bare proxy and against the A/B splitter Workers users write
// themselves? Absolute numbers from a shared 2-CPU machine move with other people's
// jobs, so every Worker runs side by side in the same interleaved rounds and the result
// is stated as ratios taken within each round.
//
// One run:
//  1. starts a real origin (scripts/lib/origin-server.ts, ~300 B JSON) on 127.0.0.1, in
//     a child process so it does not share an event loop with the load generator;
//  2. bundles edge-canary with `wrangler deploy --dry-run` and runs it in Miniflare with
//     the bindings of wrangler.jsonc (KV seeded with a weight-50 route whose stable and
//     canary are both the origin); next to it, each in its own Miniflare on the same
//     origin: the passthrough (lower bound), the floor (only the mechanisms edge-canary
//     must have) and the hand-written A/B splitter (scripts/bench/ab-splitter-worker.js);
//  3. saturated phase: autocannon, 50 connections, each Worker in turn per round (the
//     order rotates each round), a warm-up before each run; req/s, latency and workerd
//     CPU per request (Linux /proc);
//  4. unsaturated phase: one connection in a closed loop, same rotation; p50 and p99;
//  5. writes the guards and both phases to scripts/bench/results/proxy-bench.md.
// Every request has the same headers for every Worker: 90% carry edge-canary's
// `canary_id` and the splitter's `ab_group` cookie, 10% none (both then mint and send
// Set-Cookie). Everything started is stopped on exit, also on SIGINT/SIGTERM.
//
//   npm run bench -- [--rounds 10] [--duration 3] [--warmup 1] [--connections 50]
//     [--unsaturated-rounds 8] [--unsaturated-duration 2] [--compare <ref>] [--ref <ref>]
//     [--pin] [--out FILE]
//   --unsaturated-rounds 0 skips the unsaturated phase.
//   --compare: also run edge-canary built from that commit in the same rounds and report
//     paired per-round differences (A/B of a request-path change).
//   --ref: build edge-canary from a read-only snapshot of that commit instead of the
//     working tree (which may be mid-edit).
//   --pin: Linux, 2+ CPUs: the workerd processes on the last CPU, the load generator and
//     the origin on the others (taskset), which narrows the round-to-round spread.
import { fork, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { Miniflare, MiniflareOptions } from "miniflare";
import { BENCH_PATH, CLIENT_HEADERS, benchConfigDocument, clientCookie, identityPool } from "../lib/bench-fixtures.js";
import { medianRange, signed, writeReport } from "../lib/bench-report.js";
import { quantile, runLoad, stopLoad } from "../lib/http-load.js";
import { baselineWorkerOptions, bundleWorker, edgeCanaryOptions, snapshotSource, wranglerCompatibilityDate } from "../lib/local-worker.js";
import { median } from "../lib/median.js";
import { cpuMs, pinWorkerd, rssMiB, startPinning, workerdChildren, type Pinning } from "../lib/workerd-process.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

interface Args {
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  unsaturatedRounds: number;
  unsaturatedDuration: number;
  compare: string | undefined;
  ref: string | undefined;
  pin: boolean;
  out: string;
}

function readArgs(): Args {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "10" },
      duration: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      connections: { type: "string", default: "50" },
      "unsaturated-rounds": { type: "string", default: "8" },
      "unsaturated-duration": { type: "string", default: "2" },
      compare: { type: "string" },
      ref: { type: "string" },
      pin: { type: "boolean", default: false },
      out: { type: "string", default: join(here, "results/proxy-bench.md") },
    },
  });
  const num = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${String(values[name])}`);
    return n;
  };
  return {
    rounds: Math.floor(num("rounds", 1)),
    duration: num("duration", 1),
    warmup: num("warmup", 0),
    connections: Math.floor(num("connections", 1)),
    unsaturatedRounds: Math.floor(num("unsaturated-rounds", 0)),
    unsaturatedDuration: num("unsaturated-duration", 1),
    compare: values.compare,
    ref: values.ref,
    pin: values.pin ?? false,
    out: resolve(values.out!),
  };
}

// --- cleanup: everything started registers its stop here --------------------------
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    stopLoad();
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

/**
 * workerd logs a "disconnected: ... Broken pipe / Connection reset" stack each time the
 * load generator closes its sockets at the end of a run: expected, dropped. All else is
 * passed through.
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

interface Target {
  label: string;
  url: URL;
  /** The workerd process of this Worker's Miniflare, for CPU and memory. */
  pid: number | undefined;
}

let pinning: Pinning | undefined;

async function startMiniflare(label: string, options: MiniflareOptions): Promise<Target & { mf: Miniflare }> {
  const { Miniflare } = await import("miniflare");
  const before = workerdChildren();
  const mf = new Miniflare({ ...options, handleRuntimeStdio: filterRuntimeStdio } as MiniflareOptions);
  cleanups.push(() => mf.dispose());
  const url = await mf.ready;
  const pid = [...workerdChildren()].find((p) => !before.has(p));
  if (pinning && pid !== undefined) pinWorkerd(pinning, pid);
  return { label, mf, url, pid };
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

/** edge-canary bundled from `ref` (a read-only snapshot) or the working tree, seeded with the bench config. */
async function startEdgeCanary(label: string, ref: string | undefined, originUrl: string): Promise<Target & { bundleKiB: number; commit: string | undefined }> {
  let src = root;
  let commit: string | undefined;
  if (ref) {
    const snap = await snapshotSource(ref);
    cleanups.push(snap.cleanup);
    src = snap.dir;
    commit = snap.commit;
  }
  const bundle = await bundleWorker(src);
  cleanups.push(bundle.cleanup);
  const options = await edgeCanaryOptions(bundle.scriptPath, src, { ADMIN_TOKEN: "bench-admin-token" });
  const started = await startMiniflare(label, options);
  const kv = await started.mf.getKVNamespace("CANARY_CONFIG");
  await kv.put("config", benchConfigDocument(originUrl, originUrl));
  return { ...started, bundleKiB: statSync(bundle.scriptPath).size / 1024, commit };
}

/** Sends requests one by one and checks each Worker does what it stands for; returns edge-canary's split. */
async function sanityCheck(targets: Target[], ids: readonly string[]): Promise<string> {
  const get = async (t: Target, i: number): Promise<Response> => {
    const cookie = clientCookie(ids, i);
    const res = await fetch(new URL(BENCH_PATH, t.url), { headers: { ...CLIENT_HEADERS, ...(cookie ? { cookie } : {}) } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`sanity check: ${t.label} answered ${res.status}`);
    return res;
  };
  let summary = "";
  for (const t of targets) {
    const n = t.label.startsWith("edge-canary") ? 400 : 20;
    const seen = { canary: 0, stable: 0, minted: 0 };
    for (let i = 0; i < n; i++) {
      const res = await get(t, i);
      const v = res.headers.get("x-canary-variant");
      if (v === "canary") seen.canary++;
      if (v === "stable") seen.stable++;
      // The origin sets a cookie of its own; only the Worker's count.
      const setCookie = res.headers.get("set-cookie") ?? "";
      if (setCookie.includes("canary_id=")) seen.minted++;
      const firstVisit = clientCookie(ids, i) === undefined;
      if (t.label === PEER && firstVisit !== setCookie.includes("ab_group=")) throw new Error(`sanity check: the A/B splitter's Set-Cookie on request ${i}: "${setCookie}"`);
    }
    if (t.label === "floor" && seen.stable !== n) throw new Error(`sanity check: the floor set x-canary-variant on ${seen.stable} of ${n}`);
    if (t.label === EDGE) {
      if (seen.canary === 0 || seen.stable === 0 || seen.minted !== n / 10) throw new Error(`sanity check: edge-canary served ${JSON.stringify(seen)} of ${n}`);
      summary = `${n} sequential requests to edge-canary: ${seen.canary} canary / ${seen.stable} stable, ${seen.minted} minted cookies; the A/B splitter sent Set-Cookie on exactly the first visits`;
    }
  }
  return summary;
}

interface Run {
  label: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  bad: number;
  /** workerd CPU (user + system) per request in µs; undefined without /proc. */
  cpuUs: number | undefined;
  rssMiB: number | undefined;
}

async function measure(t: Target, round: number, connections: number, seconds: number, warmup: number, ids: readonly string[]): Promise<Run> {
  const load = (s: number) =>
    runLoad({
      url: new URL(BENCH_PATH, t.url).href,
      connections,
      seconds: s,
      headers: (i) => {
        const cookie = clientCookie(ids, i);
        return { ...CLIENT_HEADERS, ...(cookie ? { cookie } : {}) };
      },
    });
  if (warmup > 0) await load(warmup);
  const cpu0 = cpuMs(t.pid);
  const r = await load(seconds);
  const cpu1 = cpuMs(t.pid);
  const run: Run = {
    label: t.label,
    round,
    rps: r.requests / r.seconds,
    p50: quantile(r.latencies, 0.5),
    p99: quantile(r.latencies, 0.99),
    requests: r.requests,
    bad: r.errors + r.timeouts + r.non2xx,
    cpuUs: cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1000) / Math.max(1, r.requests) : undefined,
    rssMiB: rssMiB(t.pid),
  };
  log(
    `${connections === 1 ? "unsaturated" : "saturated"} round ${round} ${t.label.padEnd(14)} ${run.rps.toFixed(0).padStart(6)} req/s  p50 ${run.p50.toFixed(3)} ms  p99 ${run.p99.toFixed(3)} ms  ` +
      `CPU ${run.cpuUs?.toFixed(0) ?? "?"} µs/req  bad ${run.bad}`,
  );
  return run;
}

/** Rounds of every target in turn; the first target moves by one each round, so a drift in machine load favours none. */
async function phase(targets: Target[], rounds: number, run: (t: Target, round: number) => Promise<Run>): Promise<Map<string, Run[]>> {
  const runs = new Map<string, Run[]>(targets.map((t) => [t.label, []]));
  for (let r = 1; r <= rounds; r++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r - 1 + k) % targets.length]!;
      runs.get(t.label)!.push(await run(t, r));
    }
  }
  return runs;
}

// --- report -----------------------------------------------------------------------
type Runs = Map<string, Run[]>;
const PASS = "passthrough";
const PEER = "A/B splitter";
const EDGE = "edge-canary";

/** Per round, f(a's run, b's run). */
const perRound = (runs: Runs, a: string, b: string, f: (x: Run, y: Run) => number): number[] => runs.get(a)!.map((x, i) => f(x, runs.get(b)![i]!));
const med = (runs: Runs, label: string, f: (x: Run) => number | undefined): number | undefined => {
  const xs = runs.get(label)!.map(f);
  return xs.every((x) => x !== undefined) ? median(xs as number[]) : undefined;
};
const fmt = (x: number | undefined, digits: number): string => (x === undefined ? "n/a" : x.toFixed(digits));

function guards(sat: Runs, unsat: Runs | undefined): string[] {
  const rows = [
    `| saturated throughput, edge-canary / A/B splitter | **${medianRange(perRound(sat, EDGE, PEER, (x, y) => x.rps / y.rps), 2)}** |`,
    `| saturated throughput, edge-canary / passthrough | **${medianRange(perRound(sat, EDGE, PASS, (x, y) => x.rps / y.rps), 2)}** |`,
  ];
  if (unsat) {
    rows.push(
      `| unsaturated p50 latency, edge-canary / passthrough | **${medianRange(perRound(unsat, EDGE, PASS, (x, y) => x.p50 / y.p50), 2)}** |`,
      `| unsaturated p99 latency, edge-canary / passthrough | **${medianRange(perRound(unsat, EDGE, PASS, (x, y) => x.p99 / y.p99), 2)}** |`,
    );
  }
  return ["## Guards", "", "Median of the per-round ratios (lowest to highest round in brackets). They must not worsen as features land.", "", "| guard | value |", "|---|---:|", ...rows];
}

function saturatedTable(sat: Runs, labels: string[], args: Args): string[] {
  const row = (name: string, cell: (label: string) => string): string => `| ${name} | ${labels.map(cell).join(" | ")} |`;
  return [
    `## Under saturation (${args.connections} connections, ${args.rounds} rounds of ${args.duration} s after a ${args.warmup} s warm-up)`,
    "",
    `| | ${labels.join(" | ")} |`,
    `|---|${labels.map(() => "---:").join("|")}|`,
    row("requests/s (median)", (l) => fmt(med(sat, l, (x) => x.rps), 0)),
    row("throughput / passthrough's (median of per-round ratios)", (l) => (l === PASS ? "1" : medianRange(perRound(sat, l, PASS, (x, y) => x.rps / y.rps), 2))),
    row("edge-canary's throughput / this Worker's", (l) => (l === EDGE ? "1" : medianRange(perRound(sat, EDGE, l, (x, y) => x.rps / y.rps), 2))),
    row("workerd CPU per request (µs, median)", (l) => fmt(med(sat, l, (x) => x.cpuUs), 0)),
    row("workerd CPU over passthrough (µs, median of per-round differences)", (l) =>
      l === PASS || med(sat, l, (x) => x.cpuUs) === undefined ? "" : signed(median(perRound(sat, l, PASS, (x, y) => x.cpuUs! - y.cpuUs!)), 0),
    ),
    row("latency p50 / p99 (ms, median)", (l) => `${fmt(med(sat, l, (x) => x.p50), 1)} / ${fmt(med(sat, l, (x) => x.p99), 1)}`),
    row("workerd RSS after the first / last round (MiB)", (l) => `${fmt(sat.get(l)![0]!.rssMiB, 0)} / ${fmt(sat.get(l)!.at(-1)!.rssMiB, 0)}`),
    row("errors + timeouts + non-2xx", (l) => String(sat.get(l)!.reduce((a, x) => a + x.bad, 0))),
  ];
}

function unsaturatedTable(unsat: Runs, labels: string[], args: Args): string[] {
  const row = (name: string, cell: (label: string) => string): string => `| ${name} | ${labels.map(cell).join(" | ")} |`;
  const vsPass = (l: string, f: (x: Run, y: Run) => number, digits: number): string => (l === PASS ? "" : medianRange(perRound(unsat, l, PASS, f), digits));
  return [
    `## Unsaturated (one connection, closed loop, ${args.unsaturatedRounds} rounds of ${args.unsaturatedDuration} s after a 0.5 s warm-up)`,
    "",
    `| | ${labels.join(" | ")} |`,
    `|---|${labels.map(() => "---:").join("|")}|`,
    row("latency p50 (ms, median)", (l) => fmt(med(unsat, l, (x) => x.p50), 3)),
    row("latency p99 (ms, median)", (l) => fmt(med(unsat, l, (x) => x.p99), 3)),
    row("p50 / passthrough's (median of per-round ratios)", (l) => vsPass(l, (x, y) => x.p50 / y.p50, 2)),
    row("p99 / passthrough's", (l) => vsPass(l, (x, y) => x.p99 / y.p99, 2)),
    row("added p50 over passthrough (µs, median of per-round differences)", (l) => vsPass(l, (x, y) => (x.p50 - y.p50) * 1000, 0)),
    row("workerd CPU per request (µs, median)", (l) => fmt(med(unsat, l, (x) => x.cpuUs), 0)),
    row("requests/s (median)", (l) => fmt(med(unsat, l, (x) => x.rps), 0)),
    row("errors + timeouts + non-2xx", (l) => String(unsat.get(l)!.reduce((a, x) => a + x.bad, 0))),
  ];
}

/** --compare: this source's edge-canary against the same Worker from another commit, paired per round. */
function compareSection(sat: Runs, unsat: Runs | undefined, other: string): string[] {
  const cpu = perRound(sat, EDGE, other, (x, y) => (x.cpuUs ?? Number.NaN) - (y.cpuUs ?? Number.NaN)).filter((d) => !Number.isNaN(d));
  const lines = [
    `## Compared with ${other} (--compare)`,
    "",
    `Paired per round, this source minus ${other}: workerd CPU under saturation ${cpu.length ? `**${medianRange(cpu, 0)} µs** per request` : "n/a (no /proc)"}; ` +
      `throughput ratio ${medianRange(perRound(sat, EDGE, other, (x, y) => x.rps / y.rps), 2)}` +
      (unsat ? `; unsaturated p50 ${medianRange(perRound(unsat, EDGE, other, (x, y) => (x.p50 - y.p50) * 1000), 0)} µs.` : "."),
  ];
  return ["", ...lines];
}

function rawRuns(phaseName: string, runs: Runs, labels: string[]): string[] {
  const rounds = runs.get(labels[0]!)!.length;
  const lines: string[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const l of labels) {
      const r = runs.get(l)![i]!;
      lines.push(`| ${phaseName} | ${r.round} | ${l} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${fmt(r.cpuUs, 0)} | ${r.requests} | ${r.bad} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const args = readArgs();
  // Miniflare can reject internally (e.g. a Worker fails to start); clean up first.
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
  const started = Date.now();
  try {
    if (args.pin) pinning = startPinning();
    log("starting origin...");
    const origin = await startOriginChild();
    log(`origin ${origin.url}; bundling edge-canary (wrangler deploy --dry-run)...`);
    const edge = await startEdgeCanary(EDGE, args.ref, origin.url);
    const compat = await wranglerCompatibilityDate();
    const plain = (label: string, file: string) => startMiniflare(label, baselineWorkerOptions(file, origin.url, compat, { CANARY_ORIGIN: origin.url }));
    const targets: Target[] = [await plain(PASS, "passthrough-worker.js"), await plain("floor", "floor-worker.js"), await plain(PEER, "ab-splitter-worker.js"), edge];
    const compareLabel = args.compare ? `edge-canary@${args.compare}` : undefined;
    if (compareLabel) targets.push(await startEdgeCanary(compareLabel, args.compare, origin.url));
    const labels = targets.map((t) => t.label);

    const ids = identityPool(10_000);
    const sanity = await sanityCheck(targets, ids);
    log(sanity);

    const sat = await phase(targets, args.rounds, (t, r) => measure(t, r, args.connections, args.duration, args.warmup, ids));
    const unsat = args.unsaturatedRounds > 0 ? await phase(targets, args.unsaturatedRounds, (t, r) => measure(t, r, 1, args.unsaturatedDuration, 0.5, ids)) : undefined;

    writeReport(
      args.out,
      "edge-canary request-path benchmark",
      "bench",
      [
        `Workers, each in its own Miniflare (workerd) on 127.0.0.1, same origin (scripts/lib/origin-server.ts, separate process, ~300 B JSON): ` +
          `passthrough (\`fetch(origin + path, request)\`), floor (origin timeout with abort, re-wrap with two headers, \`waitUntil\`), ` +
          `A/B splitter (cookie group else coin flip, \`new Request(origin + path, request)\`, Set-Cookie on the first visit), ` +
          `edge-canary (${edge.commit ? `commit ${edge.commit}` : "working tree"}, deploy bundle ${edge.bundleKiB.toFixed(0)} KiB, one route at weight 50, both variants the origin)` +
          `${compareLabel ? `, ${compareLabel}` : ""}`,
        `load: GET ${BENCH_PATH}, 90% with \`canary_id\` (10,000 ids) and \`ab_group\` cookies, 10% first visits without; ` +
          `the order of the Workers rotates each round${args.pin ? "; workerd pinned to its own CPU (--pin)" : ""}`,
        `sanity check: ${sanity}`,
      ],
      [
        ...guards(sat, unsat),
        "",
        ...saturatedTable(sat, labels, args),
        ...(unsat ? ["", ...unsaturatedTable(unsat, labels, args)] : []),
        ...(compareLabel ? compareSection(sat, unsat, compareLabel) : []),
        "",
        "## Raw runs",
        "",
        "| phase | round | Worker | req/s | p50 ms | p99 ms | workerd CPU µs/req | requests | errors + timeouts + non-2xx |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
        ...rawRuns("saturated", sat, labels),
        ...(unsat ? rawRuns("unsaturated", unsat, labels) : []),
      ],
    );
    log(`written ${relative(root, args.out)} (total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await cleanup();
  }
}

// Entry. Child mode (--origin-child): serve the origin and report its URL over IPC.
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
