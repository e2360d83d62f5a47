// The hand-written peer of the request-path benchmarks: the A/B splitter Workers users
// write themselves. A cookie keeps the group, a coin flip assigns it on the first visit,
// the request goes to that group's origin as `new Request(origin + path, request)`, and
// the first response carries the Set-Cookie. No timeout, no telemetry, no rollback: what
// edge-canary costs over this is the price of those features.
export default {
  /**
   * @param {Request} request
   * @param {{ ORIGIN: string, CANARY_ORIGIN: string }} env
   * @returns {Promise<Response>}
   */
  async fetch(request, env) {
    const url = new URL(request.url);
    const cookie = request.headers.get("cookie") ?? "";
    const saved = /(?:^|;\s*)ab_group=(a|b)(?:;|$)/.exec(cookie)?.[1];
    const group = saved ?? (Math.random() < 0.5 ? "a" : "b");
    const origin = group === "b" ? env.CANARY_ORIGIN : env.ORIGIN;
    const response = await fetch(new Request(origin + url.pathname + url.search, request));
    if (saved) return response;
    const withCookie = new Response(response.body, response);
    withCookie.headers.append("set-cookie", `ab_group=${group}; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax`);
    return withCookie;
  },
};
