// Whole-handler microbenchmark (`npm run bench:handler`). The question: how much work
// is edge-canary's own request handler, against the floor Worker (only the mechanisms it
// must have), the hand-written A/B splitter and the bare passthrough, with the network
// and the HTTP stack taken out? `npm run bench` answers under load, but moves by tens of
// microseconds between identical runs on a shared machine; this resolves a few µs.
//
// Each Worker's real fetch handler (the deploy bundle of edge-canary, the plain JS
// Workers of this folder) runs n times inside one workerd request, with `fetch`
// replaced by an in-isolate origin: a Request without an init is taken as it is (as
// workerd's fetch does), anything else is built into one, and the answer is the
// response the bench origin sends. Every iteration builds a fresh incoming request with
// the headers `npm run bench` sends (scripts/lib/bench-fixtures.ts); a batch that only
// builds requests is the baseline subtracted from all. The clock does not advance inside
// workerd while JavaScript runs, so each batch is timed from Node, by the workerd
// process's CPU time (Linux; the wall clock elsewhere), which other jobs on the machine
// do not stretch. The order is shuffled each round; the report gives medians over rounds,
// their ratios, and the per-round differences to edge-canary.
//
// A second edge-canary target runs with IDENTITY_SECRET set and cookies carrying valid
// tags (what a production deployment sends): the HMAC path, verified once per identity
// and then from the isolate's cache, and a tag minted for each first visit.
//
// Three more edge-canary targets serve a steps-mode route: one at a stage of everyone
// (50%, no ring), two in a ring stage (steps.stages naming a segment) with every request
// in the ring: one whose segment is a trusted header, one whose segment is a JWT cookie
// verified with a Worker secret (a pool of tokens, verified once each in the warm-up
// round and then answered from the isolate's cache). Against the stages target and the
// plain route of the same run, they give what a ring stage adds per request.
//
// What it leaves out: the HTTP stack and sockets (the same for every Worker) and how
// the runtime batches work under concurrent load (`npm run bench` has that).
//
//   npm run bench:handler -- [--n 5000] [--rounds 45] [--compare <git ref>] [--out FILE]
//     --compare: also run edge-canary built from that commit (read-only snapshot), to
//     see what a change to the request path saves
import { copyFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { BENCH_PATH, CLIENT_HEADERS, benchConfigDocument, clientCookie, identityPool } from "../lib/bench-fixtures.js";
import { medianRange, writeReport } from "../lib/bench-report.js";
import { bundleWorker, edgeCanaryOptions, LOCAL_CF, repoRoot, snapshotSource } from "../lib/local-worker.js";
import { median } from "../lib/median.js";
import { cpuNs, workerdChildren } from "../lib/workerd-process.js";
import { shuffled } from "../lib/shuffle.js";
import { tagIdentity } from "../../src/core/identity-tag.js";

const here = dirname(fileURLToPath(import.meta.url));
const ORIGIN = "http://127.0.0.1:9";
/** The Cookie headers of the incoming requests, in order (request i uses COOKIES[i % length]). */
const IDS = identityPool(10_000);
const COOKIES = IDS.map((_, i) => clientCookie(IDS, i) ?? null);
/** The secret target: IDENTITY_SECRET set, every returning visitor's cookie tagged under it. */
const SECRET_TARGET = "edge-canary, IDENTITY_SECRET";
const IDENTITY_SECRET = "bench-identity-secret";
const TAGGED = await Promise.all(IDS.map((id) => tagIdentity(IDENTITY_SECRET, id)));
const TAGGED_COOKIES = TAGGED.map((_, i) => clientCookie(TAGGED, i) ?? null);
/** The steps-mode targets: the host their route matches, and how their requests are in its ring (none: no ring). */
const STEPS_TARGETS: Record<string, { host: string; kind: "none" | "header" | "jwt" }> = {
  "edge-canary, stages, no ring": { host: "stages.bench", kind: "none" },
  "edge-canary, ring: header segment": { host: "ring-header.bench", kind: "header" },
  "edge-canary, ring: cached JWT segment": { host: "ring-jwt.bench", kind: "jwt" },
};
const JWT_KEY = "bench-staff-jwt-key";
/** Distinct staff tokens the JWT target's requests carry (all within the verified-token cache). */
const JWTS = await Promise.all(Array.from({ length: 1000 }, (_, i) => signJwt(JWT_KEY, { email: `staff-${i}@example.com`, exp: Math.floor(Date.now() / 1000) + 86_400 })));

async function signJwt(secret: string, payload: Record<string, unknown>): Promise<string> {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part(payload)}`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `${input}.${Buffer.from(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input))).toString("base64url")}`;
}

/** The bench config with the ring-stage routes first (the plain route matches every host). */
function configDocument(): string {
  const doc = JSON.parse(benchConfigDocument(ORIGIN, ORIGIN)) as { routes: Array<Record<string, unknown>>; segments?: unknown };
  const plain = doc.routes[0]!;
  const ring = (id: string, host: string, segment: string) => ({
    ...plain,
    id,
    match: { hosts: [host] },
    weight: 0,
    steps: { stages: [{ segments: [segment], percent: 100 }, { percent: 50 }], minDurationSec: 86_400, minRequests: 1_000_000_000 },
  });
  doc.segments = {
    staff: { header: "x-staff", equals: "1", trusted: true },
    sso: { jwt: { cookie: "sso", secret: "STAFF_JWT_KEY", claim: "email" }, suffix: "@example.com" },
  };
  // The same plan shape without a ring: what steps mode costs apart from the segments.
  const stages = { ...plain, id: "stages", match: { hosts: ["stages.bench"] }, weight: 0, steps: { stages: [{ percent: 50 }, { percent: 100 }], minDurationSec: 86_400, minRequests: 1_000_000_000 } };
  doc.routes = [ring("ring-header", "ring-header.bench", "staff"), ring("ring-jwt", "ring-jwt.bench", "sso"), stages, plain];
  return JSON.stringify(doc);
}

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
const TAGGED_COOKIES = ${JSON.stringify(TAGGED_COOKIES)};
const STEPS_TARGETS = ${JSON.stringify(STEPS_TARGETS)};
const JWTS = ${JSON.stringify(JWTS)};
const incoming = (i, tagged, ring) => {
  const host = ring ? ring.host : "127.0.0.1";
  const headers = { ...${JSON.stringify(CLIENT_HEADERS)}, host };
  const cookies = tagged ? TAGGED_COOKIES : COOKIES;
  let cookie = cookies[i % cookies.length];
  if (ring?.kind === "header") headers["x-staff"] = "1";
  if (ring?.kind === "jwt") cookie = (cookie === null ? "" : cookie + "; ") + "sso=" + JWTS[i % JWTS.length];
  if (cookie !== null) headers.cookie = cookie;
  return new Request("http://" + host + ${JSON.stringify(BENCH_PATH)}, { headers, cf: ${JSON.stringify(LOCAL_CF)} });
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
    const tagged = name === ${JSON.stringify(SECRET_TARGET)};
    const ring = STEPS_TARGETS[name];
    const workerEnv = { ...env, ORIGIN: ${JSON.stringify(ORIGIN)}, CANARY_ORIGIN: ${JSON.stringify(ORIGIN)}, STAFF_JWT_KEY: ${JSON.stringify(JWT_KEY)}, ...(tagged ? { IDENTITY_SECRET: ${JSON.stringify(IDENTITY_SECRET)} } : {}) };
    globalThis.fetch = localOrigin;
    let ok = 0;
    try {
      for (let i = 0; i < n; i++) {
        const req = incoming(served++, tagged, ring);
        if (worker === null) continue;
        const res = await worker.fetch(req, workerEnv, ctx);
        // A ring request must have been served by its ring (the canary): else the segment was not evaluated as meant.
        if (res.status === 200 && (!ring || ring.kind === "none" || res.headers.get("x-canary-variant") === "canary")) ok++;
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
  /** Runs one batch of n requests through a target; µs per request (baseline included) of workerd CPU time, or of wall time without /proc. */
  batch(name: string, n: number): Promise<number>;
  /** What `batch` times: "workerd CPU" or "wall". */
  clock: string;
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
    const targets: Target[] = [
      { name: "edge-canary", file: "index.js" },
      { name: SECRET_TARGET, file: "index.js" },
      ...Object.keys(STEPS_TARGETS).map((name) => ({ name, file: "index.js" })),
    ];
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
    const files = [...new Set(["harness.js", ...targets.map((t) => t.file)])];
    const modules = files.map((file) => ({ type: "ESModule" as const, path: join(dir, file) }));
    const before = workerdChildren();
    const mf = new Miniflare({ ...options, scriptPath: undefined, modules, port: undefined, host: undefined } as MiniflareOptions);
    cleanups.push(() => mf.dispose());
    await mf.ready;
    const pid = [...workerdChildren()].find((p) => !before.has(p));
    const cpu = cpuNs(pid) === undefined ? undefined : () => cpuNs(pid)! / 1000;
    const kv = await mf.getKVNamespace("CANARY_CONFIG");
    await kv.put("config", configDocument());
    return {
      names: ["baseline", ...targets.map((t) => t.name)],
      clock: cpu ? "workerd CPU" : "wall",
      async batch(name, n) {
        // The CPU time of the workerd process (every thread) is not stretched while other
        // jobs on this shared machine hold the CPU; the wall clock is the fallback.
        const now = cpu ?? (() => performance.now() * 1000);
        const started = now();
        const res = await mf.dispatchFetch(`http://127.0.0.1/__handler-bench?target=${encodeURIComponent(name)}&n=${n}`);
        const body = (await res.json()) as { ok: number };
        const us = (now() - started) / n;
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
      n: { type: "string", default: "5000" },
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
      // A new order each round, so a drift in machine load favours no target and no
      // target always follows the same one. An untimed tenth of a batch first lets the
      // garbage the previous target left be collected on its own account.
      for (const name of shuffled(names)) {
        await bench.batch(name, Math.ceil(args.n / 10));
        const us = await bench.batch(name, args.n);
        if (r > 0) times.get(name)!.push(us);
      }
    }
  } finally {
    await bench.dispose();
  }

  // The baseline (building the incoming requests) is a constant cost: its median over
  // all rounds is subtracted from every batch, so one noisy baseline batch does not
  // shift a whole round. The targets of a round run back to back: differences are taken
  // within a round, then the median over rounds, which cancels most of the machine's
  // drift. The ratios are of the medians, because a per-round ratio to a handler of a few
  // microseconds swings with every stray millisecond of the machine.
  const baseline = median(times.get("baseline")!);
  const own = (name: string): number[] => times.get(name)!.map((x) => x - baseline);
  const targets = names.filter((name) => name !== "baseline");
  const ratio = (name: string): string => (median(own("edge-canary")) / median(own(name))).toFixed(2);
  const diffs = (name: string): number[] => own("edge-canary").map((x, i) => x - own(name)[i]!);
  const rows = targets.map(
    (name) =>
      `| ${name} | ${median(own(name)).toFixed(1)} | ${Math.min(...own(name)).toFixed(1)} | ` +
      `${name === "edge-canary" ? "1" : ratio(name)} | ${name === "edge-canary" ? "" : medianRange(diffs(name), 1)} |`,
  );
  const guard = (name: string): string => `edge-canary / ${name} **${ratio(name)}**`;
  writeReport(
    args.out,
    "Whole-handler microbenchmark (in-isolate origin)",
    "bench:handler",
    [
      `each Worker's fetch handler runs ${args.n} times per round inside one workerd request, origin answered in the isolate; ` +
        `${args.rounds} rounds after a warm-up round, in a new random order each round, each timed batch after an untimed tenth of one; timed by ${bench.clock === "wall" ? "the wall clock (no /proc here)" : "the workerd process's CPU time (/proc schedstat)"}; minus the baseline, building the incoming requests (median ${baseline.toFixed(1)} µs)`,
    ],
    [
      `Guards (ratio of the median handler times): ${guard("floor")}, ${guard("passthrough")}, ${guard("A/B splitter")}.`,
      "",
      "| Worker | handler µs per request (median) | µs (best round) | edge-canary / this (ratio of medians) | edge-canary - this (µs, median of per-round differences; lowest to highest round) |",
      "|---|---:|---:|---:|---:|",
      ...rows,
      "",
      `Per round, µs per request (${bench.clock}, minus the baseline):`,
      "",
      `| round | ${targets.join(" | ")} |`,
      `|---:|${targets.map(() => "---:").join("|")}|`,
      ...times.get("baseline")!.map((_, i) => `| ${i + 1} | ${targets.map((name) => own(name)[i]!.toFixed(1)).join(" | ")} |`),
    ],
  );
}

await main();
