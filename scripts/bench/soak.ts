// Soak: does a long run through the local runtime leak memory or drop connections, and
// is it edge-canary's doing or the runtime's? edge-canary (the deploy bundle, with its
// coordinator, in Miniflare) and the bare passthrough Worker (its own Miniflare) get the
// same open-loop load at the same time from one Node client over keep-alive sockets
// (node:http Agent, like curl/browsers reuse connections): GETs and a share of POSTs
// with a 1 KB body, users with cookie jars. Every `--sample` seconds the RSS of each
// side's workerd process and its isolate's JS heap (V8 inspector, Runtime.getHeapUsage)
// are read; with --gc (default) a full GC is asked for first (HeapProfiler.collectGarbage),
// though the isolate keeps serving between the GC and the read, so the figure still
// includes young garbage allocated meanwhile (--heap-snapshots gives what is retained).
// Client-side errors are counted by kind (ECONNRESET, socket hang up, ...).
//
//   npm run bench:soak -- [--minutes 20] [--rate 200] [--post 0.1] [--users 5000]
//                         [--weight 30] [--sample 30] [--out scripts/bench/results/soak.md]
//                         [--heap-snapshots]
//
// The heap is also reported per inspector target (one per isolate/worker of the process).
// --heap-snapshots builds edge-canary unminified (constructor names kept) and takes a V8
// heap snapshot of each of its targets at 25% and at the end of the run, after a GC,
// written next to --out, and appends the constructors whose self size grew most between
// the two (heap-diff.ts). A snapshot pauses the isolate for a few seconds.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeLines } from "../lib/bench-report.js";
import { writeFileSync } from "node:fs";
import { diffTable, summarise, type HeapSnapshot, type Summary } from "./heap-diff.js";
import { Agent, request as httpRequest } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { startOrigin } from "../lib/origin-server.js";
import { baselineWorkerOptions, bundleWorker, edgeCanaryOptions, repoRoot, wranglerCompatibilityDate } from "../lib/local-worker.js";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "20" },
    rate: { type: "string", default: "200" },
    post: { type: "string", default: "0.1" },
    users: { type: "string", default: "5000" },
    weight: { type: "string", default: "30" },
    sample: { type: "string", default: "30" },
    sockets: { type: "string", default: "32" },
    gc: { type: "boolean", default: true },
    "no-gc": { type: "boolean", default: false },
    out: { type: "string", default: join(repoRoot, "scripts/bench/results/soak.md") },
    "heap-snapshots": { type: "boolean", default: false },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const POST_SHARE = Number(args.post);
const USERS = Number(args.users);
const WEIGHT = Number(args.weight);
const SAMPLE_S = Number(args.sample);
const SOCKETS = Number(args.sockets);
const GC = args.gc && !args["no-gc"];
const SNAPSHOTS = args["heap-snapshots"];

interface Side {
  name: string;
  base: URL;
  pid: number;
  inspector: number;
  agent: Agent;
  sent: number;
  done: number;
  statuses: Map<number, number>;
  errors: Map<string, number>;
  /** Error timestamps, to see bursts. */
  errorTimes: number[];
  latencies: number[];
  samples: Array<{ atS: number; rssMb: number; heapMb: number | undefined; byTarget: Record<string, number>; reqs: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Child workerd processes of this process (Miniflare spawns one per instance). */
function workerdChildren(): Set<number> {
  try {
    const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
    return new Set(out.split("\n").filter((l) => l.includes("workerd")).map((l) => Number(l.trim().split(/\s+/)[0])));
  } catch {
    return new Set();
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface Target {
  id: string;
  title: string;
  webSocketDebuggerUrl: string;
}

const targets = async (port: number): Promise<Target[]> => (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Target[];

/** Sends `method` to an inspector target; resolves with its result, passing events to `onEvent`. */
async function inspect<T>(t: Target, calls: Array<{ method: string; params?: object }>, timeoutMs: number, onEvent?: (method: string, params: any) => void): Promise<T> {
  const ws = new WebSocket(t.webSocketDebuggerUrl, { maxPayload: 1024 * 1024 * 1024 });
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("inspector timeout")), timeoutMs);
      ws.on("open", () => calls.forEach((c, i) => ws.send(JSON.stringify({ id: i, ...c }))));
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as { id?: number; method?: string; params?: unknown; result?: T; error?: { message: string } };
        if (msg.method) onEvent?.(msg.method, msg.params);
        if (msg.id === calls.length - 1) {
          clearTimeout(timer);
          if (msg.error) reject(new Error(msg.error.message));
          else resolve(msg.result as T);
        }
      });
      ws.on("error", reject);
    });
  } finally {
    ws.close();
  }
}

const targetName = (t: Target, i: number): string => `${t.title || "target"}#${i}`;

/** JS heap in use of every isolate behind an inspector port, in MB: the total and per target. */
async function heapMb(port: number): Promise<{ total: number | undefined; byTarget: Record<string, number> }> {
  const byTarget: Record<string, number> = {};
  try {
    let total = 0;
    for (const [i, t] of (await targets(port)).entries()) {
      const calls = [...(GC ? [{ method: "HeapProfiler.collectGarbage" }] : []), { method: "Runtime.getHeapUsage" }];
      const used = (await inspect<{ usedSize: number }>(t, calls, 5000)).usedSize ?? 0;
      byTarget[targetName(t, i)] = used / 1024 / 1024;
      total += used;
    }
    return { total: total / 1024 / 1024, byTarget };
  } catch {
    return { total: undefined, byTarget };
  }
}

/** A heap snapshot of every target behind the port, saved as `<prefix>-<target>.heapsnapshot`, summarised. */
async function snapshots(port: number, prefix: string): Promise<Map<string, Summary>> {
  const out = new Map<string, Summary>();
  for (const [i, t] of (await targets(port)).entries()) {
    const chunks: string[] = [];
    await inspect(t, [{ method: "HeapProfiler.collectGarbage" }, { method: "HeapProfiler.takeHeapSnapshot", params: { reportProgress: false } }], 300_000, (m, p) => {
      if (m === "HeapProfiler.addHeapSnapshotChunk") chunks.push(p.chunk);
    });
    const text = chunks.join("");
    const name = targetName(t, i);
    writeFileSync(`${prefix}-${name.replace(/[^\w.-]+/g, "_")}.heapsnapshot`, text);
    out.set(
      name,
      summarise(JSON.parse(text) as HeapSnapshot, [
        (k) => /^(Coordinator|CoordinatorStore|CoordinatorClient|IdentityCheck|ConfigCache|DurableObject|DurableObjectState)\d* \[object\]$/.test(k),
        // The coordinator's fields (coordinator.ts, store.ts) and the client's per-route entries.
        ...["memo", "rollout", "store", "divergent", "stepCache", "routes", "verified", "pending", "unacked"].map((property) => ({ property })),
      ]),
    );
  }
  return out;
}

async function startSide(name: string, options: ConstructorParameters<typeof Miniflare>[0], inspectorPort: number): Promise<{ mf: Miniflare; side: Side }> {
  const before = workerdChildren();
  const mf = new Miniflare({ ...options, inspectorPort } as ConstructorParameters<typeof Miniflare>[0]);
  const base = await mf.ready;
  const pid = [...workerdChildren()].find((p) => !before.has(p)) ?? Number.NaN;
  return {
    mf,
    side: {
      name,
      base,
      pid,
      inspector: inspectorPort,
      agent: new Agent({ keepAlive: true, maxSockets: SOCKETS }),
      sent: 0,
      done: 0,
      statuses: new Map(),
      errors: new Map(),
      errorTimes: [],
      latencies: [],
      samples: [],
    },
  };
}

const POST_BODY = JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ sku: `sku-${i}`, qty: i, note: "x".repeat(30) })) });

function one(side: Side, user: number, jar: string[], started: number): void {
  const post = Math.random() < POST_SHARE;
  const headers: Record<string, string> = { "x-user": String(user) };
  if (jar[user]) headers.cookie = jar[user]!;
  if (post) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(POST_BODY));
  }
  side.sent++;
  const t0 = performance.now();
  const req = httpRequest(
    { host: side.base.hostname, port: side.base.port, path: post ? `/orders/${user}` : `/page/${user % 50}`, method: post ? "POST" : "GET", headers, agent: side.agent },
    (res) => {
      const set = res.headers["set-cookie"]?.find((c) => c.startsWith("canary_id="));
      if (set) jar[user] = set.split(";")[0]!;
      res.resume();
      res.on("end", () => {
        side.done++;
        side.statuses.set(res.statusCode ?? 0, (side.statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        if (side.latencies.length < 200_000) side.latencies.push(performance.now() - t0);
      });
      res.on("error", (e) => fail(side, e, started));
    },
  );
  req.on("error", (e) => fail(side, e, started));
  req.end(post ? POST_BODY : undefined);
}

function fail(side: Side, e: Error, started: number): void {
  const kind = (e as NodeJS.ErrnoException).code ?? e.message;
  side.errors.set(kind, (side.errors.get(kind) ?? 0) + 1);
  side.errorTimes.push((Date.now() - started) / 1000);
}

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
};

async function main(): Promise<void> {
  const stable = await startOrigin("stable");
  const canary = await startOrigin("canary");
  const config = {
    version: 1,
    routes: [{ id: "www", stable: { origin: stable.url }, canary: { origin: canary.url }, release: "soak-1", weight: WEIGHT }],
  };
  const { scriptPath, cleanup } = await bundleWorker(repoRoot, { minify: !SNAPSHOTS });
  const ec = await startSide("edge-canary", await edgeCanaryOptions(scriptPath, repoRoot, { ADMIN_TOKEN: "soak", IDENTITY_SECRET: "soak-identity-secret" }), 9329);
  await (await ec.mf.getKVNamespace("CANARY_CONFIG")).put("config", JSON.stringify(config));
  const pt = await startSide("passthrough", baselineWorkerOptions("passthrough-worker.js", stable.url, await wranglerCompatibilityDate()), 9330);
  const sides = [ec.side, pt.side];
  const jars = sides.map(() => new Array<string>(USERS));
  const started = Date.now();
  const end = started + MINUTES * 60_000;
  console.log(`soak: ${MINUTES} min, ${RATE} req/s per side, ${POST_SHARE * 100}% POST, ${USERS} users, weight ${WEIGHT}; workerd pids ${sides.map((s) => `${s.name}=${s.pid}`).join(", ")}`);

  const sample = async (s: Side) => {
    const h = await heapMb(s.inspector);
    s.samples.push({ atS: Math.round((Date.now() - started) / 1000), rssMb: rssMb(s.pid), heapMb: h.total, byTarget: h.byTarget, reqs: s.done });
  };
  const snapPrefix = args.out!.replace(/\.md$/, "");
  let early: { atS: number; summaries: Map<string, Summary> } | undefined;
  const sampler = (async () => {
    for (let next = started; Date.now() < end; ) {
      for (const s of sides) await sample(s);
      const line = sides.map((s) => `${s.name} rss ${s.samples.at(-1)!.rssMb.toFixed(0)} MB heap ${s.samples.at(-1)!.heapMb?.toFixed(1) ?? "?"} MB (${Object.entries(s.samples.at(-1)!.byTarget).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}) done ${s.done} errors ${[...s.errors.values()].reduce((a, b) => a + b, 0)}`).join(" | ");
      console.log(`[${Math.round((Date.now() - started) / 1000)} s] ${line}`);
      if (SNAPSHOTS && !early && Date.now() - started >= MINUTES * 15_000) {
        const atS = Math.round((Date.now() - started) / 1000);
        early = { atS, summaries: await snapshots(ec.side.inspector, `${snapPrefix}-${atS}s`) };
        console.log(`[${atS} s] heap snapshots of edge-canary taken (${[...early.summaries.keys()].join(", ")})`);
      }
      next += SAMPLE_S * 1000;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();

  // Open loop: each 10 ms tick sends the requests due by then, to both sides alike.
  let due = 0;
  let issued = 0;
  while (Date.now() < end) {
    due = ((Date.now() - started) / 1000) * RATE;
    while (issued < due) {
      const user = Math.floor(Math.random() * USERS);
      sides.forEach((s, i) => one(s, user, jars[i]!, started));
      issued++;
    }
    await sleep(10);
  }
  await sampler;
  await sleep(3000);
  for (const s of sides) await sample(s);
  const lateAtS = Math.round((Date.now() - started) / 1000);
  const late = SNAPSHOTS ? await snapshots(ec.side.inspector, `${snapPrefix}-${lateAtS}s`) : undefined;

  const lines: string[] = [];
  const log = (s = "") => {
    console.log(s);
    lines.push(s);
  };
  log(`# Soak: edge-canary and the bare passthrough, side by side`);
  log();
  log(`- date: ${new Date(started).toISOString()}; command: \`npm run bench:soak -- --minutes ${MINUTES} --rate ${RATE} --post ${POST_SHARE} --users ${USERS} --weight ${WEIGHT} --sample ${SAMPLE_S}${GC ? "" : " --no-gc"}\``);
  log(`- both Workers in Miniflare (workerd), each its own process, loaded at the same time by one Node client: ${RATE} req/s each, ${POST_SHARE * 100}% POST (1 KB JSON), ${USERS} users with cookie jars, keep-alive Agent with at most ${SOCKETS} sockets per side; edge-canary at weight ${WEIGHT} with a healthy canary, IDENTITY_SECRET set; origins on 127.0.0.1`);
  log(`- RSS: /proc/<workerd pid>/status VmRSS; JS heap: V8 inspector Runtime.getHeapUsage (usedSize) over the isolates of that process${GC ? ", each read after a full GC (HeapProfiler.collectGarbage), which still counts what the isolate allocated between the GC and the read (retained memory: the heap snapshots, --heap-snapshots)" : ", without forcing a GC"}`);
  log();
  log(`| | edge-canary | passthrough |`);
  log(`|---|---:|---:|`);
  log(`| requests sent / completed | ${sides.map((s) => `${s.sent} / ${s.done}`).join(" | ")} |`);
  log(`| HTTP statuses | ${sides.map((s) => [...s.statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(", ")).join(" | ")} |`);
  log(`| client-side errors by kind | ${sides.map((s) => (s.errors.size ? [...s.errors].map(([k, v]) => `${k}: ${v}`).join(", ") : "none")).join(" | ")} |`);
  log(`| error times (s into the run) | ${sides.map((s) => (s.errorTimes.length ? s.errorTimes.slice(0, 30).map((t) => t.toFixed(1)).join(" ") : "-")).join(" | ")} |`);
  log(`| latency p50 / p99 (ms) | ${sides.map((s) => `${pct(s.latencies, 0.5).toFixed(1)} / ${pct(s.latencies, 0.99).toFixed(1)}`).join(" | ")} |`);
  const third = (s: Side) => {
    const from = s.samples.filter((x) => x.atS >= (MINUTES * 60) / 3);
    const rss = from.map((x) => x.rssMb);
    const heap = from.map((x) => x.heapMb ?? Number.NaN).filter((x) => !Number.isNaN(x));
    return `RSS ${Math.min(...rss).toFixed(0)}-${Math.max(...rss).toFixed(0)} MB (${(((Math.max(...rss) - Math.min(...rss)) / Math.min(...rss)) * 100).toFixed(0)}%), heap ${heap.length ? `${Math.min(...heap).toFixed(1)}-${Math.max(...heap).toFixed(1)} MB` : "n/a"}`;
  };
  log(`| memory over the last two thirds | ${sides.map(third).join(" | ")} |`);
  log();
  log(`## Memory over time`);
  log();
  log(`| s | edge-canary RSS (MB) | edge-canary heap (MB) | passthrough RSS (MB) | passthrough heap (MB) |`);
  log(`|---:|---:|---:|---:|---:|`);
  for (let i = 0; i < Math.min(ec.side.samples.length, pt.side.samples.length); i++) {
    const a = ec.side.samples[i]!;
    const b = pt.side.samples[i]!;
    log(`| ${a.atS} | ${a.rssMb.toFixed(0)} | ${a.heapMb?.toFixed(1) ?? "?"} | ${b.rssMb.toFixed(0)} | ${b.heapMb?.toFixed(1) ?? "?"} |`);
  }
  const targetNames = [...new Set(ec.side.samples.flatMap((x) => Object.keys(x.byTarget)))];
  log();
  log(`## edge-canary heap per inspector target (MB${GC ? ", after a full GC" : ""})`);
  log();
  log(`| s | ${targetNames.join(" | ")} |`);
  log(`|---:|${targetNames.map(() => "---:").join("|")}|`);
  for (const x of ec.side.samples) log(`| ${x.atS} | ${targetNames.map((n) => x.byTarget[n]?.toFixed(1) ?? "?").join(" | ")} |`);
  if (early && late) {
    for (const [name, b] of late) {
      const a = early.summaries.get(name);
      if (!a) continue;
      log();
      log(`## Heap snapshot diff, edge-canary target ${name}: ${early.atS} s -> ${lateAtS} s`);
      log();
      for (const l of diffTable(a, b, 25)) log(l);
    }
  }
  for (const s of sides) s.agent.destroy();
  await ec.mf.dispose();
  await pt.mf.dispose();
  await cleanup();
  await stable.close();
  await canary.close();
  writeLines(args.out!, lines);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
