// Whole-handler microbenchmark (`npm run bench:handler`). Why: `npm run bench` gives the
// verdict on throughput but moves by +-30 µs per request between identical runs on a
// shared machine, and `npm run bench:micro` prices single runtime calls out of context.
// This runs each Worker's real fetch handler (the deploy bundle of edge-canary, the bare
// passthrough, the floor) n times inside one workerd request, with the network replaced
// by an in-isolate origin: `fetch` builds the Request from its arguments as workerd's
// fetch does, and answers with the response the bench origin sends. What is left is the
// handler's own JavaScript, runtime calls and garbage, at a resolution of about 1 µs.
//
// The clock does not advance inside workerd while JavaScript runs, so the wall time of
// each batch is taken from Node. Every iteration builds a fresh incoming request (the
// same headers as `npm run bench`: 90% with a `canary_id` cookie from 10,000 ids);
// a batch that only builds requests is the baseline subtracted from all.
//
// What it does not say: the HTTP stack and socket work (the same for every Worker) and
// how the runtime batches work under concurrent load. Use it to rank changes to the
// request path; `npm run bench` stays the verdict.
//
//   npm run bench:handler -- [--n 1000] [--rounds 45] [--compare <git ref>] [--out FILE]
//     --compare: also run edge-canary built from that commit (read-only snapshot), to
//     see what a change to the request path saves
import { copyFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { readMicroArgs, signed, writeMicroReport } from "../lib/bench-report.js";
import { bundleWorker, edgeCanaryOptions, repoRoot, snapshotSource } from "../lib/local-worker.js";
import { median } from "../lib/median.js";
import { LOCAL_CF } from "../lib/production-cf.js";
import { benchConfigDocument } from "./hot-path.js";

const here = dirname(fileURLToPath(import.meta.url));
const ORIGIN = "http://127.0.0.1:9";

/**
 * The harness module: imports the Workers under test, swaps in the in-isolate origin
 * and runs one batch per request. `targets` maps a name to a module's default export.
 */
const harness = (imports: Record<string, string>): string => `
${Object.entries(imports)
  .map(([, file], i) => `import w${i} from "./${file}";`)
  .join("\n")}
export { Coordinator } from "./${imports["edge-canary"]}";
const targets = { baseline: null, ${Object.keys(imports)
  .map((name, i) => `${JSON.stringify(name)}: w${i}`)
  .join(", ")} };
// What the bench origin (scripts/lib/origin-server.ts) answers, minus the network.
const BODY = JSON.stringify({ version: "stable", method: "GET", path: "/api/items", query: "page=2", headers: {}, bodyLength: 0 });
const RESPONSE_HEADERS = { "content-type": "application/json", "content-length": String(BODY.length), "x-origin": "stable" };
const realFetch = globalThis.fetch;
// As workerd's fetch (Request::coerce): a Request without an init is taken as it is,
// anything else is built into a new Request.
const localOrigin = async (input, init) => {
  const req = input instanceof Request && init === undefined ? input : new Request(input, init);
  if (req.url.startsWith(${JSON.stringify(ORIGIN)})) return new Response(BODY, { status: 200, headers: RESPONSE_HEADERS });
  return realFetch(req);
};
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
let ids;
// 22-char base64url ids, the shape edge-canary mints (random values only inside a request).
const pool = () => {
  if (!ids) ids = Array.from({ length: 10000 }, () => Array.from(crypto.getRandomValues(new Uint8Array(22)), (b) => B64URL[b & 63]).join(""));
  return ids;
};
const incoming = (i) => {
  const headers = { accept: "application/json", "user-agent": "edge-canary-bench", host: "127.0.0.1" };
  if (i % 10 !== 0) headers.cookie = "canary_id=" + pool()[i % 10000] + "; app_session=abc";
  return new Request("http://127.0.0.1/api/items?page=2", { headers, cf: ${JSON.stringify(LOCAL_CF)} });
};
let served = 0;
export default {
  async fetch(request, env, ctx) {
    const u = new URL(request.url);
    if (u.pathname !== "/__handler-bench") return targets["edge-canary"].fetch(request, env, ctx);
    const name = u.searchParams.get("target");
    const n = Number(u.searchParams.get("n"));
    const worker = targets[name];
    if (worker === undefined) return new Response("unknown target " + name, { status: 400 });
    const workerEnv = { ...env, ORIGIN: ${JSON.stringify(ORIGIN)} };
    globalThis.fetch = localOrigin;
    let ok = 0;
    try {
      for (let i = 0; i < n; i++) {
        const req = incoming(served++);
        if (worker === null) continue;
        const res = await worker.fetch(req, workerEnv, ctx);
        if (res.status === 200) ok++;
      }
    } finally {
      globalThis.fetch = realFetch;
    }
    return Response.json({ ok });
  },
};
`;

interface Target {
  name: string;
  file: string;
}

export interface HandlerBench {
  /** Target names: "baseline" (requests only), edge-canary, [edge-canary@ref], passthrough, floor. */
  names: string[];
  /** Runs one batch of n requests through a target; wall µs per request (baseline included). */
  batch(name: string, n: number): Promise<number>;
  dispose(): Promise<void>;
}

/** Bundles the Workers under test into one Miniflare with edge-canary's bindings. */
export async function startHandlerBench(opts: { compare?: string } = {}): Promise<HandlerBench> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const dispose = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  };
  try {
    const bundle = await bundleWorker(repoRoot);
    cleanups.push(bundle.cleanup);
    const dir = dirname(bundle.scriptPath);
    const targets: Target[] = [{ name: "edge-canary", file: "index.js" }];
    if (opts.compare) {
      const snap = await snapshotSource(opts.compare);
      cleanups.push(snap.cleanup);
      const other = await bundleWorker(snap.dir);
      cleanups.push(other.cleanup);
      await copyFile(other.scriptPath, join(dir, "compare.js"));
      targets.push({ name: `edge-canary@${opts.compare}`, file: "compare.js" });
    }
    for (const file of ["passthrough-worker.js", "floor-worker.js"]) await copyFile(join(here, file), join(dir, file));
    targets.push({ name: "passthrough", file: "passthrough-worker.js" }, { name: "floor", file: "floor-worker.js" });
    await writeFile(join(dir, "harness.js"), harness(Object.fromEntries(targets.map((t) => [t.name, t.file]))));

    const options = await edgeCanaryOptions(join(dir, "harness.js"), repoRoot);
    const files = ["harness.js", ...targets.map((t) => t.file)];
    const modules = files.map((file) => ({ type: "ESModule" as const, path: join(dir, file) }));
    const mf = new Miniflare({ ...options, scriptPath: undefined, modules, port: undefined, host: undefined } as MiniflareOptions);
    cleanups.push(() => mf.dispose());
    await mf.ready;
    const kv = await mf.getKVNamespace("CANARY_CONFIG");
    await kv.put("config", benchConfigDocument(ORIGIN, ORIGIN));
    return {
      names: ["baseline", ...targets.map((t) => t.name)],
      async batch(name, n) {
        const started = performance.now();
        const res = await mf.dispatchFetch(`http://127.0.0.1/__handler-bench?target=${encodeURIComponent(name)}&n=${n}`);
        const body = (await res.json()) as { ok: number };
        const us = ((performance.now() - started) * 1000) / n;
        if (name !== "baseline" && body.ok !== n) throw new Error(`${name}: ${body.ok} of ${n} requests answered 200`);
        return us;
      },
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

async function main(): Promise<void> {
  const { n, rounds, out, values } = readMicroArgs({ n: 1000, rounds: 45, out: join(here, "results/handler-micro.md") }, { compare: { type: "string" } });

  const bench = await startHandlerBench({ compare: values.compare as string | undefined });
  const names = bench.names;
  const times = new Map<string, number[]>(names.map((k) => [k, []]));
  try {
    // Round 0 warms up (runtime start, config load, first coordinator sync, JIT).
    for (let r = 0; r <= rounds; r++) {
      // Rotate the order, so a drift in machine load does not favour one target.
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length]!;
        const us = await bench.batch(name, n);
        if (r > 0) times.get(name)!.push(us);
      }
    }
  } finally {
    await bench.dispose();
  }

  const base = median(times.get("baseline")!);
  const net = (name: string): number => median(times.get(name)!) - base;
  // Differences are taken within a round (the targets of a round run back to back) and
  // then the median over rounds, which cancels most of the machine's drift.
  const roundDiffs = (a: string, b: string): number[] => times.get(a)!.map((x, i) => x - times.get(b)![i]!);
  const paired = (a: string, b: string): number => median(roundDiffs(a, b));
  const rows = names
    .filter((name) => name !== "baseline")
    .map((name) => `| ${name} | ${net(name).toFixed(1)} | ${(Math.min(...times.get(name)!) - base).toFixed(1)} | ${name === "passthrough" ? "" : signed(paired(name, "passthrough"), 1)} |`);
  const compared = names.find((name) => name.startsWith("edge-canary@"));
  if (compared) {
    const diffs = roundDiffs("edge-canary", compared);
    const mean = diffs.reduce((a, d) => a + d, 0) / diffs.length;
    rows.push(
      "",
      `edge-canary (working tree) - ${compared}: ${signed(median(diffs), 1)} µs per request (median of ${diffs.length} per-round differences; mean ${signed(mean, 1)}).`,
    );
  }
  writeMicroReport(
    out,
    "Whole-handler microbenchmark (in-isolate origin)",
    "bench:handler",
    [
      `each Worker's fetch handler runs ${n} times per round inside one workerd request, origin answered in the isolate; ` +
        `median of ${rounds} rounds after a warm-up round, minus the cost of building the incoming requests (${base.toFixed(1)} µs)`,
    ],
    ["| Worker | µs per request (median) | µs (best round) | over passthrough (median of per-round differences) |", "|---|---:|---:|---:|", ...rows],
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
