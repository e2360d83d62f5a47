// "Probe" Worker for the request-path benchmark (`npm run bench -- --probe <op>x<n>`):
// the floor Worker (floor-worker.js) that first repeats one runtime operation n times
// per request. Its CPU over the floor's, paired per round and divided by n, is what one
// such operation costs under the bench's load. Why: a single operation costs a few
// microseconds at most, below what an A/B of two Workers resolves on a shared machine
// (about +-25 us per 8 rounds); repeating it n times lifts it above that noise.
// Each operation's result is kept, so nothing is optimised away. A request's own
// `request.cf` cannot be priced this way: workerd parses it on the first read only, and
// a copied Request's cf is not the same (it is not parsed from JSON nor frozen).
import floor from "./floor-worker.js";

const SETS = [
  ["x-forwarded-host", "example.com"],
  ["x-forwarded-proto", "https"],
  ["x-canary-variant", "stable"],
  ["x-canary-release", "probe"],
];

/** @type {Record<string, (req: Request, origin: string) => unknown>} */
export const OPS = {
  // A parsed URL and the four parts the request path reads.
  "url-parse": (req) => {
    const u = new URL(req.url);
    return u.host + u.pathname + u.search + u.protocol;
  },
  // A runtime call that creates nothing: a header lookup (a miss).
  "headers-get": (req) => req.headers.get("x-probe-absent"),
  // One pass over the client's headers, a JavaScript callback per header.
  "headers-foreach": (req) => {
    let n = 0;
    req.headers.forEach((_value, name) => {
      if (name.startsWith("x-canary-")) n++;
    });
    return n;
  },
  // The same pass by the names only (an iterator call per header, no callback, no values).
  "headers-keys": (req) => {
    let n = 0;
    for (const name of req.headers.keys()) if (name.startsWith("x-canary-")) n++;
    return n;
  },
  // An empty Headers object and the four header writes edge-canary makes.
  "headers-new": () => {
    const h = new Headers();
    for (const [k, v] of SETS) h.set(k, v);
    return h;
  },
  // A copy of the client's headers and the four writes.
  "headers-copy": (req) => {
    const h = new Headers(req.headers);
    for (const [k, v] of SETS) h.set(k, v);
    return h;
  },
  // An origin Request with a copy of the client's headers, as edge-canary builds it.
  "request-new": (req, origin) => new Request(origin, { method: req.method, headers: req.headers, redirect: "manual" }),
  // The same, its headers read and the four writes made (edge-canary's origin request).
  "request-new-sets": (req, origin) => {
    const r = new Request(origin, { method: req.method, headers: req.headers, redirect: "manual" });
    const h = r.headers;
    for (const [k, v] of SETS) h.set(k, v);
    return r;
  },
  // An origin Request whose headers are a plain object filled in one pass over the
  // client's headers plus the four writes (no Headers copy, no header writes).
  "request-new-record": (req, origin) => {
    /** @type {Record<string, string>} */
    const h = {};
    req.headers.forEach((value, name) => {
      h[name] = value;
    });
    for (const [k, v] of SETS) h[k] = v;
    return new Request(origin, { method: req.method, headers: h, redirect: "manual" });
  },
};

let kept;
export default {
  /**
   * @param {Request} req
   * @param {{ ORIGIN: string, PROBE_OP: string, PROBE_N: string }} env
   * @param {ExecutionContext} ctx
   */
  fetch(req, env, ctx) {
    const op = OPS[env.PROBE_OP];
    if (!op) return new Response(`unknown PROBE_OP ${env.PROBE_OP}`, { status: 500 });
    const n = Number(env.PROBE_N);
    for (let i = 0; i < n; i++) kept = op(req, env.ORIGIN);
    return floor.fetch(req, env, ctx);
  },
};
