// Whole-handler microbenchmark (`npm run bench:handler`). The question: how much work
// is edge-canary's own request handler, against the floor Worker (only the mechanisms it
// must have), the hand-written A/B splitter and the bare passthrough, with the network
// and the HTTP stack taken out? `npm run bench` answers under load, but moves by tens of
// microseconds between identical runs on a shared machine; this resolves about 1 µs.
//
// Each Worker's real fetch handler (the deploy bundle of edge-canary, the plain JS
// Workers of this folder) runs n times inside one workerd request, with `fetch`
// replaced by an in-isolate origin: a Request without an init is taken as it is (as
// workerd's fetch does), anything else is built into one, and the answer is the
// response the bench origin sends. Every iteration builds a fresh incoming request with
// the headers `npm run bench` sends (scripts/lib/bench-fixtures.ts); a batch that only
// builds requests is the baseline subtracted within each round. The clock does not
// advance inside workerd while JavaScript runs, so each batch is timed from Node. The
// order rotates each round, ratios and differences are taken within a round, and the
// report gives their median over rounds.
//
// What it leaves out: the HTTP stack and sockets (the same for every Worker) and how
// the runtime batches work under concurrent load (`npm run bench` has that).
//
//   npm run bench:handler -- [--n 1000] [--rounds 45] [--compare <git ref>] [--out FILE]
//     --compare: also run edge-canary built from that commit (read-only snapshot), to
//     see what a change to the request path saves
import { copyFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { BENCH_PATH, CLIENT_HEADERS, benchConfigDocument, clientCookie, identityPool } from "../lib/bench-fixtures.js";
import { medianRange, signed, writeReport } from "../lib/bench-report.js";
import { bundleWorker, edgeCanaryOptions, LOCAL_CF, repoRoot, snapshotSource } from "../lib/local-worker.js";
import { median } from "../lib/median.js";

const here = dirname(fileURLToPath(import.meta.url));
const ORIGIN = "http://127.0.0.1:9";
/** The Cookie headers of the incoming requests, in order (request i uses COOKIES[i % length]). */
const COOKIES = ((ids) => ids.map((_, i) => clientCookie(ids, i) ?? null))(identityPool(10_000));

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
const COOKIES = ${JSON.stringify(COOKIES)};
const incoming = (i) => {
  const headers = { ...${JSON.stringify(CLIENT_HEADERS)}, host: "127.0.0.1" };
  const cookie = COOKIES[i % COOKIES.length];
  if (cookie !== null) headers.cookie = cookie;
  return new Request(${JSON.stringify(`http://127.0.0.1${BENCH_PATH}`)}, { headers, cf: ${JSON.stringify(LOCAL_CF)} });
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
    const workerEnv = { ...env, ORIGIN: ${JSON.stringify(ORIGIN)}, CANARY_ORIGIN: ${JSON.stringify(ORIGIN)} };
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

interface HandlerBench {
  /** Target names: "baseline" (requests only), edge-canary, [edge-canary@ref], then the plain Workers. */
  names: string[];
  /** Runs one batch of n requests through a target; wall µs per request (baseline included). */
  batch(name: string, n: number): Promise<number>;
  dispose(): Promise<void>;
}

const PLAIN = [
  { name: "floor", file: "floor-worker.js" },
  { name: "A/B splitter", file: "ab-splitter-worker.js" },
  { name: "passthrough", file: "passthrough-worker.js" },
];

/** Bundles the Workers under test into one Miniflare with edge-canary's bindings. */
async function startHandlerBench(compare: string | undefined): Promise<HandlerBench> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const dispose = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  };
  try {
    const bundle = await bundleWorker(repoRoot);
    cleanups.push(bundle.cleanup);
    const dir = dirname(bundle.scriptPath);
    const targets: Target[] = [{ name: "edge-canary", file: "index.js" }];
    if (compare) {
      const snap = await snapshotSource(compare);
      cleanups.push(snap.cleanup);
      const other = await bundleWorker(snap.dir);
      cleanups.push(other.cleanup);
      await copyFile(other.scriptPath, join(dir, "compare.js"));
      targets.push({ name: `edge-canary@${compare}`, file: "compare.js" });
    }
    for (const t of PLAIN) await copyFile(join(here, t.file), join(dir, t.file));
    targets.push(...PLAIN);
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

function readArgs(): { n: number; rounds: number; compare: string | undefined; out: string } {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: "1000" },
      rounds: { type: "string", default: "45" },
      compare: { type: "string" },
      out: { type: "string", default: join(here, "results/handler-micro.md") },
    },
  });
  const n = Number(values.n);
  const rounds = Number(values.rounds);
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(rounds) && rounds >= 1)) throw new Error("--n and --rounds must be integers >= 1");
  return { n, rounds, compare: values.compare, out: resolve(values.out!) };
}

async function main(): Promise<void> {
  const args = readArgs();
  const bench = await startHandlerBench(args.compare);
  const names = bench.names;
  const times = new Map<string, number[]>(names.map((k) => [k, []]));
  try {
    // Round 0 warms up (runtime start, config load, first coordinator sync, JIT).
    for (let r = 0; r <= args.rounds; r++) {
      // Rotate the order, so a drift in machine load does not favour one target.
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length]!;
        const us = await bench.batch(name, args.n);
        if (r > 0) times.get(name)!.push(us);
      }
    }
  } finally {
    await bench.dispose();
  }

  // Each round's targets run back to back: the handler's own time is its batch minus the
  // same round's baseline, and ratios and differences are taken within a round before
  // the median over rounds, which cancels most of the machine's drift.
  const baseline = times.get("baseline")!;
  const own = (name: string): number[] => times.get(name)!.map((x, i) => x - baseline[i]!);
  const perRound = (a: string, b: string, f: (x: number, y: number) => number): number[] => own(a).map((x, i) => f(x, own(b)[i]!));
  const targets = names.filter((name) => name !== "baseline");
  const rows = targets.map(
    (name) =>
      `| ${name} | ${median(own(name)).toFixed(1)} | ${Math.min(...own(name)).toFixed(1)} | ` +
      `${name === "edge-canary" ? "1" : medianRange(perRound("edge-canary", name, (x, y) => x / y), 2)} | ` +
      `${name === "edge-canary" ? "" : signed(median(perRound("edge-canary", name, (x, y) => x - y)), 1)} |`,
  );
  const guard = (name: string): string => `edge-canary / ${name} **${medianRange(perRound("edge-canary", name, (x, y) => x / y), 2)}**`;
  writeReport(
    args.out,
    "Whole-handler microbenchmark (in-isolate origin)",
    "bench:handler",
    [
      `each Worker's fetch handler runs ${args.n} times per round inside one workerd request, origin answered in the isolate; ` +
        `${args.rounds} rounds after a warm-up round, the order rotating; each round's baseline (building the incoming requests, median ${median(baseline).toFixed(1)} µs) subtracted`,
    ],
    [
      `Guards (median of per-round ratios, lowest to highest round in brackets): ${guard("floor")}, ${guard("passthrough")}, ${guard("A/B splitter")}.`,
      "",
      "| Worker | handler µs per request (median) | µs (best round) | edge-canary / this (median of per-round ratios) | edge-canary - this (µs, median of per-round differences) |",
      "|---|---:|---:|---:|---:|",
      ...rows,
    ],
  );
}

await main();
