// Bare passthrough Worker: the baseline of the request-path benchmark
// (scripts/bench/proxy-bench.ts). It forwards every request to the same origin as
// edge-canary does, in the same runtime (Miniflare/workerd), with no routing, hashing,
// header rewriting or response decoration, so "edge-canary / passthrough" isolates
// what edge-canary itself costs. The origin base URL comes from the ORIGIN binding.
export default {
  /**
   * @param {Request} req
   * @param {{ ORIGIN: string }} env
   * @returns {Promise<Response>}
   */
  fetch(req, env) {
    const u = new URL(req.url);
    return fetch(env.ORIGIN + u.pathname + u.search, req);
  },
};
