// "Floor" Worker of the request-path benchmarks: the least a Worker can do and still
// have the request-path mechanisms edge-canary must have, with none of its logic (no
// config, routing, cohorts, header hygiene or sinks):
//   - an origin timeout on the response headers that aborts the fetch
//     (AbortController + setTimeout/clearTimeout, as edge-canary's fetch-origin.ts);
//   - the response re-wrapped to carry x-canary-variant and x-canary-release;
//   - an outcome (status, origin time) handed to ctx.waitUntil after the response.
// Its cost over the bare passthrough is what those mechanisms cost in this runtime; the
// rest of edge-canary's cost over it is our own logic.
// The last outcome, kept so the record is real work that cannot be optimised away.
let lastOutcome;
export default {
  /**
   * @param {Request} req
   * @param {{ ORIGIN: string }} env
   * @param {ExecutionContext} ctx
   * @returns {Promise<Response>}
   */
  async fetch(req, env, ctx) {
    const u = new URL(req.url);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    const started = Date.now();
    let origin;
    try {
      origin = await fetch(env.ORIGIN + u.pathname + u.search, { method: req.method, headers: req.headers, body: req.body, redirect: "manual", signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
    const outcome = { status: origin.status, originMs: Date.now() - started };
    const res = new Response(origin.body, origin);
    res.headers.set("x-canary-variant", "stable");
    res.headers.set("x-canary-release", "floor");
    ctx.waitUntil(Promise.resolve().then(() => (lastOutcome = outcome)));
    return res;
  },
};
