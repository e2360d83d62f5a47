// Bare passthrough Worker, the lower bound of the request-path benchmarks: it forwards
// every request to the same origin as edge-canary does, in the same runtime, with no
// routing, cookies, header rewriting or response decoration. The origin base URL comes
// from the ORIGIN binding.
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
