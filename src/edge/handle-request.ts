// The request path: match route -> identity -> variant -> proxy (with fallback) ->
// decorate -> record outcome after the response is on its way. Everything here is
// either cached per isolate or computed in microseconds, except the origin fetch.
import { bucketOf, murmur3, releaseSalt, variantFor } from "../core/bucket.js";
import type { RouteConfig, SyncConfig, Variant } from "../core/config/schema.js";
import { readCookie, serializeCookie } from "../core/cookies.js";
import { mintIdentity, resolveIdentity } from "../core/identity.js";
import type { Outcome, OutcomeSink } from "../core/outcome.js";
import { verifyOverride } from "../core/override-token.js";
import { hostWithoutPort, matchRoute } from "../core/route-match.js";
import type { ConfigCache } from "./config-cache.js";
import { fetchOrigin, type OriginResult } from "./fetch-origin.js";
import { buildOriginRequest } from "./origin-request.js";
import { errorResponse } from "./error-response.js";
import { RequestHeaders } from "./request-headers.js";
import type { RequestTarget } from "./request-target.js";

/** Seed of the identity hash the evidence carries (failing identities are counted once per rollout). */
const IDENTITY_EVIDENCE_SEED = 0x1d3e;

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS"]);

/** Where the effective canary weight of a route comes from (the coordinator client). */
export interface WeightSource {
  weight(route: RouteConfig, sync: SyncConfig, env: Env, ctx: ExecutionContext): Promise<number> | number;
}

export interface EdgeDeps {
  configCache: ConfigCache;
  weights: WeightSource;
  sink: OutcomeSink;
  now: () => number;
  randomBytes: (n: number) => Uint8Array;
}

/** `url` is request.url as the entry parsed and read it (once per request). */
export async function handleRequest(request: Request, url: RequestTarget, env: Env, ctx: ExecutionContext, deps: EdgeDeps): Promise<Response> {
  const refreshMs = Number(env.CONFIG_REFRESH_MS ?? 10_000);
  const now = deps.now();
  // Values that are usually ready are awaited only when they are not: each await of a
  // settled value is still a microtask turn on every request.
  const cached = deps.configCache.get(env.CANARY_CONFIG, now, refreshMs, (p) => ctx.waitUntil(p));
  const view = cached instanceof Promise ? await cached : cached;
  if (!view.config) {
    return errorResponse(503, "no_config", "edge-canary has no valid config yet", view.error?.messages);
  }
  const route = matchRoute(view.config, url.host, url.pathname);
  if (!route) {
    return errorResponse(404, "no_route", `no edge-canary route matches host "${hostWithoutPort(url.host)}" and path "${url.pathname}"`);
  }

  const headers = new RequestHeaders(request.headers);
  const identity = resolveIdentity(headers, route.sticky, () => mintIdentity(deps.randomBytes));
  const cf = request.cf as { colo?: string; country?: string } | undefined;
  const country = cf?.country ?? "";
  const override = overrideVariant(headers, route, env, now);
  const pinned = override instanceof Promise ? await override : override;
  const allowed = countryAllowed(route, country);
  // The weight is asked for even when pinned, so the isolate keeps syncing.
  const current = deps.weights.weight(route, view.config.sync, env, ctx);
  const weight = current instanceof Promise ? await current : current;
  const variant: Variant =
    pinned ?? (allowed ? variantFor(bucketOf(releaseSalt(route.id, route.release), identity.id), weight) : "stable");

  const method = request.method;
  const result = await proxy(request, method, url, route, variant, deps.now);
  const served = result.served;
  const minted = identity.source === "minted";
  let response: Response;
  // The re-wrapped response's headers, read once (a runtime call) for the writes and the size.
  let out: Headers | undefined;
  // Nothing to add: hand the origin's response through untouched (no re-wrap).
  if (served.response && !route.exposeHeaders && !result.fallback && !minted) response = served.response;
  else {
    response = served.response
      ? rewrap(served.response, served.status)
      : errorResponse(502, served.errorKind === "timeout" ? "origin_timeout" : "origin_unreachable", `${result.servedBy} origin failed: ${served.message ?? served.errorKind}`);
    out = response.headers;
    if (route.exposeHeaders) {
      out.set("x-canary-variant", result.servedBy);
      out.set("x-canary-release", route.release);
    }
    if (result.fallback) out.set("x-canary-fallback", "1");
    if (minted) out.append("set-cookie", serializeCookie(route.sticky.cookieName, identity.id, route.sticky.maxAgeSec));
  }
  const outcome: Outcome = {
    routeId: route.id,
    variant,
    release: route.release,
    method,
    status: result.primary.status,
    originMs: result.primary.originMs,
    fallback: result.fallback,
    errorKind: result.primary.errorKind,
    colo: cf?.colo ?? "",
    country,
    bytes: served.response ? Number((out ?? response.headers).get("content-length") ?? -1) : -1,
    forced: pinned !== undefined || !allowed,
    identityHash: murmur3(identity.id, IDENTITY_EVIDENCE_SEED),
  };
  ctx.waitUntil(Promise.resolve().then(() => deps.sink.record(outcome)));
  return response;
}

/**
 * A mutable copy of an origin response, body streamed. A WebSocket upgrade (101) has no
 * body but a socket, which must be handed over, or the client's upgrade fails.
 */
function rewrap(origin: Response, status: number): Response {
  // The status is already read (a number): no extra runtime call on the common path.
  if (status === 101 && origin.webSocket) return new Response(null, { status: 101, webSocket: origin.webSocket, headers: origin.headers });
  return new Response(origin.body, origin);
}

function countryAllowed(route: RouteConfig, country: string): boolean {
  const filter = route.countries;
  if (!filter) return true;
  if (filter.deny?.includes(country)) return false;
  if (filter.allow && !filter.allow.includes(country)) return false;
  return true;
}

/** Synchronous (undefined) when there is no token: the common case costs no promise. */
function overrideVariant(headers: RequestHeaders, route: RouteConfig, env: Env, nowMs: number): Promise<Variant | undefined> | undefined {
  // No secret, no valid token: nothing to read (the common deployment pays nothing).
  if (!env.OVERRIDE_SECRET) return undefined;
  const token = headers.get(route.override.header) ?? readCookie(headers.get("cookie"), route.override.cookie);
  if (!token) return undefined;
  return verifyOverride(token, env.OVERRIDE_SECRET, route.id, Math.floor(nowMs / 1000));
}

interface ProxyOutcome {
  primary: OriginResult;
  served: OriginResult;
  servedBy: Variant;
  fallback: boolean;
}

async function proxy(
  request: Request,
  method: string,
  url: RequestTarget,
  route: RouteConfig,
  variant: Variant,
  now: () => number,
): Promise<ProxyOutcome> {
  const origin = variant === "canary" ? route.canary : route.stable;
  const failStatuses = variant === "canary" && route.fallback.enabled ? route.fallback.onStatus : [];
  const primary = await fetchOrigin(
    (signal) => buildOriginRequest(request, method, url, origin, variant, route.release, route.override.header, signal),
    origin.timeoutMs,
    failStatuses,
    now,
  );
  // Only a failed canary fetch of a bodiless idempotent request is replayed: a body
  // stream can be read once, and a POST may have had side effects on the canary. The
  // body is looked at last, only once a replay is otherwise due.
  const replay = variant === "canary" && primary.errorKind !== "none" && route.fallback.enabled && IDEMPOTENT.has(method) && request.body === null;
  if (!replay) return { primary, served: primary, servedBy: variant, fallback: false };
  await primary.response?.body?.cancel();
  const served = await fetchOrigin(
    (signal) => buildOriginRequest(request, method, url, route.stable, "stable", route.release, route.override.header, signal),
    route.stable.timeoutMs,
    [],
    now,
  );
  return { primary, served, servedBy: "stable", fallback: true };
}
