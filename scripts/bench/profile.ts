// CPU profile of the edge-canary isolate under load (`npm run bench:profile`). Why: the
// request-path benchmark says how much edge-canary adds; this says where. It bundles
// the Worker unminified (names kept), runs it in Miniflare with the wrangler.jsonc
// bindings and the V8 inspector on, drives the same load as `npm run bench` against a
// loopback origin, records a V8 sampling profile of the isolate over the load, and
// prints the functions by samples (self and inclusive) per 1,000 requests. The
// .cpuprofile opens in Chrome DevTools (Performance tab) or speedscope.
//
// Samples, not microseconds: the sampler's intervals stretch when the machine is busy,
// so only the proportions are meaningful. The coordinator Durable Object runs in the
// same isolate here (in production it does not); its frames are listed too.
//
// `--worker floor|passthrough` profiles one of the bench's baseline Workers under the
// same load instead, so two profiles can be compared function by function (samples per
// 1,000 requests).
//
//   npm run bench:profile -- [--worker edge-canary|floor|passthrough] [--duration 6]
//     [--connections 50] [--top 25] [--out FILE]
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Miniflare, type MiniflareOptions } from "miniflare";
import WebSocket from "ws";
import { baselineWorkerOptions, bundleWorker, edgeCanaryOptions, repoRoot, wranglerCompatibilityDate } from "../lib/local-worker.js";
import { benchConfigDocument, identityPool } from "./hot-path.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const INSPECTOR_PORT = 9239;
const WORKERS = ["edge-canary", "floor", "passthrough"];

/** Self and inclusive sample counts per function (name + bundle line). */
export function tally(nodes: ProfileNode[]): { self: Map<string, number>; inclusive: Map<string, number>; total: number } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode): string => `${n.callFrame.functionName || "(anonymous)"}${n.callFrame.url ? ` :${n.callFrame.lineNumber + 1}` : ""}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const n of nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    self.set(name(n), (self.get(name(n)) ?? 0) + hits);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const key = name(byId.get(id)!);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
    }
  }
  return { self, inclusive, total };
}

/** The Worker to profile: edge-canary's bundle, unminified (names kept), or a baseline (no bundle needed). */
async function profiledWorker(worker: string, originUrl: string): Promise<{ options: MiniflareOptions; cleanup: () => Promise<void> }> {
  if (worker !== "edge-canary") {
    return { options: baselineWorkerOptions(`${worker}-worker.js`, originUrl, await wranglerCompatibilityDate()), cleanup: async () => {} };
  }
  const { scriptPath, cleanup } = await bundleWorker(repoRoot, { minify: false });
  return { options: await edgeCanaryOptions(scriptPath, repoRoot), cleanup };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "6" },
      connections: { type: "string", default: "50" },
      top: { type: "string", default: "25" },
      out: { type: "string" },
      worker: { type: "string", default: "edge-canary" },
    },
  });
  const worker = values.worker!;
  if (!WORKERS.includes(worker)) throw new Error(`--worker must be one of ${WORKERS.join(", ")}, got "${worker}"`);
  const out = values.out ?? `/tmp/${worker}.cpuprofile`;
  const origin = fork(fileURLToPath(new URL("./proxy-bench.ts", import.meta.url)), ["--origin-child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const originUrl = await new Promise<string>((ok) => origin.once("message", (m) => ok((m as { url: string }).url)));
  const { options, cleanup } = await profiledWorker(worker, originUrl);
  const mf = new Miniflare({ ...options, inspectorPort: INSPECTOR_PORT } as MiniflareOptions);
  try {
    const url = await mf.ready;
    if (worker === "edge-canary") await (await mf.getKVNamespace("CANARY_CONFIG")).put("config", benchConfigDocument(originUrl, originUrl));
    const requests = identityPool(10_000).map((id, i) => ({ method: "GET" as const, path: "/api/items?page=2", headers: i % 10 ? { cookie: `canary_id=${id}` } : {} }));
    const load = (duration: number) => autocannon({ url: url.href, connections: Number(values.connections), duration, requests });
    await load(2); // warm-up: JIT, config cache, first sync

    const targets = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.id.includes(worker));
    if (!target) throw new Error(`no ${worker} inspector target among ${targets.map((t) => t.id).join(", ")}`);
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
    let nextId = 0;
    const pending = new Map<number, (result: unknown) => void>();
    ws.on("message", (raw) => {
      const msg = JSON.parse(String(raw)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    });
    const send = <T>(method: string, params: object = {}): Promise<T> =>
      new Promise((ok) => {
        const id = ++nextId;
        pending.set(id, ok as (r: unknown) => void);
        ws.send(JSON.stringify({ id, method, params }));
      });
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 100 });
    await send("Profiler.start");
    const result = await load(Number(values.duration));
    const { profile } = await send<{ profile: { nodes: ProfileNode[] } }>("Profiler.stop");
    ws.close();
    writeFileSync(out, JSON.stringify(profile));

    const n = result.requests.total;
    const { self, inclusive, total } = tally(profile.nodes);
    const top = Number(values.top);
    const rows = (m: Map<string, number>): string[] =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${((v * 1000) / n).toFixed(0).padStart(7)}  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
    console.log(`${n} requests in ${values.duration} s, ${total} samples; per 1,000 requests and share of samples:`);
    console.log("\nself\n" + rows(self).join("\n"));
    console.log("\ninclusive\n" + rows(inclusive).join("\n"));
    console.log(`\n${worker} profile written to ${out} (Chrome DevTools > Performance > Load profile)`);
  } finally {
    await mf.dispose();
    await cleanup();
    origin.kill("SIGTERM");
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
