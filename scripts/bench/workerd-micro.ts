// Microbenchmarks of single runtime calls inside workerd (`npm run bench:micro`). Why:
// `npm run bench` says how much edge-canary adds per request but moves by +-30 µs between
// identical runs on a shared machine, too coarse to choose between two ways of writing
// one step of the request path. Here each step runs n times inside one request, so the
// HTTP stack, the origin and the load generator are out of the picture. Inside workerd
// the clock does not advance while JavaScript runs, so the wall time of the whole
// request is taken from Node and divided by n; a no-op loop is the baseline.
//
// What it does not say: costs in a tight loop are warm (JIT, caches); under real load
// they are larger. Use it to rank alternatives, `npm run bench` for the verdict.
//
//   npm run bench:micro -- [--n 20000] [--rounds 5] [--only a,b] [--out FILE]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { readMicroArgs, writeMicroReport } from "../lib/bench-report.js";
import { median } from "../lib/median.js";
import { LOCAL_CF, PRODUCTION_CF } from "../lib/production-cf.js";
import { wranglerCompatibilityDate } from "../lib/local-worker.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Each op gets the incoming request (6 headers, as a browser sends) and the ctx. */
const OPS: Record<string, string> = {
  noop: "() => 0",
  "headers: for..of build (filter, append)": `(req) => { const out = new Headers(); for (const [k, v] of req.headers) { if (HOP.has(k) || k.startsWith("x-canary-")) continue; out.append(k, v); } return out; }`,
  "headers: forEach build (filter, append)": `(req) => { const out = new Headers(); req.headers.forEach((v, k) => { if (HOP.has(k) || k.startsWith("x-canary-")) return; out.append(k, v); }); return out; }`,
  "headers: copy constructor + fixed deletes": `(req) => { const out = new Headers(req.headers); for (const h of HOP) out.delete(h); return out; }`,
  "headers: copy constructor + forEach scan": `(req) => { const out = new Headers(req.headers); let del; out.forEach((v, k) => { if (HOP.has(k) || k.startsWith("x-canary-")) (del ??= []).push(k); }); if (del) for (const k of del) out.delete(k); return out; }`,
  "origin request, before: Headers built by for..of + append, then new Request(url, init)": `(req) => { const h = new Headers(); for (const [k, v] of req.headers) { if (HOP.has(k) || k.startsWith("x-canary-")) continue; h.append(k, v); } SETS(h); return new Request("http://127.0.0.1:1/x", { method: "GET", headers: h, body: null, redirect: "manual", signal: SIGNAL_OF() }); }`,
  "origin request, now: src/edge/origin-request.ts buildOriginRequest (Request copies the headers, sanitized in place)": `(req) => buildOriginRequest(req, "GET", URL_OF(req), ORIGIN, "canary", "v1", "x-canary-override", SIGNAL_OF())`,
  "origin request, fixed deletes: new Request(url, init) + get(connection, cf-connecting-ip) + 14 deletes + 4 sets": `(req) => { const out = new Request("http://127.0.0.1:1/x", { method: "GET", headers: req.headers, body: null, redirect: "manual", signal: SIGNAL_OF() }); const h = out.headers; const c = h.get("connection"); const ip = h.get("cf-connecting-ip"); for (const k of HOP) h.delete(k); h.delete("x-canary-override"); h.delete("x-canary-variant"); h.delete("x-canary-release"); if (ip) h.set("x-forwarded-for", ip); SETS(h); return out; }`,
  "headers: keys() scan": `(req) => { let n = 0; for (const k of req.headers.keys()) if (k.startsWith("x-canary-")) n++; return n; }`,
  "headers: forEach scan": `(req) => { let n = 0; req.headers.forEach((v, k) => { if (k.startsWith("x-canary-")) n++; }); return n; }`,
  "headers: 14 deletes of absent names": `(req) => { const h = new Headers(req.headers); for (const k of HOP) h.delete(k); h.delete("x-canary-override"); h.delete("x-canary-variant"); h.delete("x-canary-release"); return h; }`,
  "headers: new Headers(request.headers) alone": `(req) => new Headers(req.headers)`,
  "request.cf, production-shaped (~1 KB): JSON.parse + deep freeze, what workerd does on the first read": `() => freeze(JSON.parse(CF_JSON)).country`,
  "request.cf, the bench's two-field blob: JSON.parse + deep freeze": `() => freeze(JSON.parse(CF_SMALL)).country`,
  "headers: get(cookie)": `(req) => req.headers.get("cookie")`,
  "headers: set on a new Headers": `() => new Headers().set("x-canary-variant", "canary")`,
  "request: new URL(request.url)": `(req) => new URL(req.url)`,
  "request: new Request(url, request)": `(req) => new Request("http://127.0.0.1:1/x", req)`,
  "request: new Request(url, init dict)": `(req) => new Request("http://127.0.0.1:1/x", { method: "GET", headers: req.headers, body: null, redirect: "manual" })`,
  "timer: AbortController + setTimeout + clearTimeout": `() => { const c = new AbortController(); const t = setTimeout(() => c.abort(), 10000); const s = c.signal; clearTimeout(t); return s; }`,
  "timer: AbortSignal.timeout": `() => AbortSignal.timeout(10000)`,
  "response: new Response(body, response)": `() => { const r = mk(); return new Response(r.body, r); }`,
  "response: (the new Response above alone)": `() => mk()`,
  "ctx.waitUntil(resolved promise)": `(req, ctx) => ctx.waitUntil(Promise.resolve())`,
  "queueMicrotask(fn)": `() => queueMicrotask(() => 0)`,
  "crypto.getRandomValues(16 bytes)": `() => crypto.getRandomValues(new Uint8Array(16))`,
};

/** The product's origin-request module, bundled for workerd, so the micro measures the shipped code. */
async function originRequestModule(): Promise<string> {
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [join(here, "../../src/edge/origin-request.ts")],
    bundle: true,
    format: "esm",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]!.text.replace(/^export \{[^}]*\};?\s*$/m, "");
}

const script = (originRequest: string) => `
${originRequest}
const ORIGIN = { origin: "http://127.0.0.1:1", timeoutMs: 1000 };
// The request.cf shape Cloudflare sends (Miniflare's fallback cf), as the JSON workerd parses lazily.
const CF_JSON = ${JSON.stringify(JSON.stringify(PRODUCTION_CF))};
const CF_SMALL = ${JSON.stringify(JSON.stringify(LOCAL_CF))};
const freeze = (o) => { if (o && typeof o === "object") { for (const k in o) freeze(o[k]); Object.freeze(o); } return o; };
let url; const URL_OF = (req) => (url ??= new URL(req.url));
const HOP = new Set(["connection","keep-alive","proxy-authenticate","proxy-authorization","te","trailer","transfer-encoding","upgrade","proxy-connection","x-forwarded-host","x-forwarded-proto"]);
const RH = { "content-type": "application/json", "content-length": "5", "set-cookie": "a=b", date: "x" };
const mk = () => new Response("hello", { status: 200, headers: RH });
const SETS = (h) => { h.set("x-forwarded-host", "h"); h.set("x-forwarded-proto", "https"); h.set("x-canary-variant", "canary"); h.set("x-canary-release", "v1"); };
let signal; const SIGNAL_OF = () => (signal ??= new AbortController().signal);
const ops = [${Object.values(OPS).join(",\n")}];
export default { async fetch(req, env, ctx) {
  const u = new URL(req.url); const op = ops[Number(u.searchParams.get("op"))]; const n = Number(u.searchParams.get("n"));
  let x; for (let i = 0; i < n; i++) x = op(req, ctx);
  return new Response(typeof x);
} }`;

const REQUEST_HEADERS = {
  cookie: "canary_id=abcdefghijklmnopqrstuv; other=1",
  "user-agent": "Mozilla/5.0",
  accept: "*/*",
  "accept-encoding": "gzip",
  "accept-language": "en",
  connection: "keep-alive",
};

async function main(): Promise<void> {
  const { n, rounds, out, values } = readMicroArgs({ n: 20000, rounds: 5, out: join(here, "results/workerd-micro.md") }, { only: { type: "string" } });
  const only = values.only as string | undefined;
  const names = Object.keys(OPS);
  const selected = only ? names.filter((k) => only.split(",").some((s) => k.includes(s))) : names;
  if (!selected.includes("noop")) selected.unshift("noop");
  const mf = new Miniflare({ modules: true, compatibilityDate: await wranglerCompatibilityDate(), script: script(await originRequestModule()) });
  const times = new Map<string, number[]>();
  try {
    // Round 0 is a warm-up (runtime start, JIT), not recorded.
    for (let r = 0; r <= rounds; r++) {
      for (const name of selected) {
        const started = performance.now();
        const res = await mf.dispatchFetch(`http://bench.local/?op=${names.indexOf(name)}&n=${n}`, { headers: REQUEST_HEADERS });
        await res.text();
        if (r === 0) continue;
        const list = times.get(name) ?? [];
        list.push(((performance.now() - started) * 1000) / n);
        times.set(name, list);
      }
    }
  } finally {
    await mf.dispose();
  }
  const base = median(times.get("noop")!);
  const rows = selected
    .filter((k) => k !== "noop")
    .map((k) => `| ${k} | ${(median(times.get(k)!) - base).toFixed(2)} | ${(Math.min(...times.get(k)!) - base).toFixed(2)} |`);
  writeMicroReport(
    out,
    "In-workerd microbenchmarks",
    "bench:micro",
    [`each op runs ${n} times inside one request (6 request headers); median of ${rounds} rounds after a warm-up round, minus the no-op loop (${base.toFixed(2)} µs)`],
    ["| op | µs per call (median) | µs (best round) |", "|---|---:|---:|", ...rows],
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
