// The request path: match route -> identity -> variant -> proxy (with fallback) ->
// decorate -> record outcome after the response is on its way. Everything here is
// either cached per isolate or computed in microseconds, except the origin fetch.
import { bucketOf, releaseSalt, variantFor } from "../core/bucket.js";
import type { RouteConfig, SyncConfig, Variant } from "../core/config/schema.js";
import { readCookie, serializeCookie } from "../core/cookies.js";
import { mintIdentity, resolveIdentity } from "../core/identity.js";
import { tagIdentity } from "../core/identity-tag.js";
import type { Outcome, OutcomeSink } from "../core/outcome.js";
import { verifyOverride } from "../core/override-token.js";
import { hostWithoutPort, matchRoute } from "../core/route-match.js";
import type { ConfigCache } from "../config/config-cache.js";
import { fetchOrigin, type OriginResult } from "./fetch-origin.js";
import { buildOriginRequest, CDN_LOOP_ID, hasOurLoopToken } from "./origin-request.js";
import { errorResponse } from "./error-response.js";
import type { IdentityCheck } from "./identity-check.js";
import { RequestHeaders } from "./request-headers.js";
import { UploadWatch } from "./upload-watch.js";
import type { RequestTarget } from "./request-target.js";
import type { ShadowSink } from "../core/shadow/shadow-outcome.js";
import type { MetricSink } from "../core/metrics/metric-event.js";
import { parseOriginMetrics } from "../core/metrics/origin-header.js";
import type { Mirror, ShadowMirror } from "./shadow-mirror.js";
import type { Ring } from "../core/rollout/plan.js";
import { countryAllowed } from "../core/segments/countries-segment.js";
import { requestFacts, type RequestFacts } from "../core/segments/request-facts.js";
import { compiledSegments, decideRings, SegmentEvaluation } from "../core/segments/segment-match.js";
import type { IdentityLists } from "./identity-lists.js";
import { segmentSources } from "./segment-sources.js";
import { injectMetricsScript } from "./html-inject.js";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS"]);

/** Where the effective canary weight of a route comes from (the coordinator client). */
export interface WeightSource {
  weight(route: RouteConfig, sync: SyncConfig, env: Env, ctx: ExecutionContext): Promise<number> | number;
  /** Percent of users whose requests are mirrored (a shadow stage of a trusted state), else 0; asked after weight(). */
  shadow(route: RouteConfig): number;
  /** The rings served beside everyone's share (ring stages of a trusted state), else none; asked after weight(). */
  rings(route: RouteConfig): readonly Ring[];
}

export interface EdgeDeps {
  configCache: ConfigCache;
  /** CONFIG_REFRESH_MS, parsed (config/worker-settings.ts). */
  configRefreshMs: number;
  /** ADMIN_BASE_PATH, parsed: where the injected metrics script and the beacon endpoint live. */
  adminBasePath: string;
  weights: WeightSource;
  sink: OutcomeSink & ShadowSink & MetricSink;
  /** The isolate's shadow mirrors (shadow-mirror.ts): one per isolate, for the in-flight cap. */
  mirrors: ShadowMirror;
  identities: IdentityCheck;
  /** The isolate's identitiesKv lists (identity-lists.ts). */
  identityLists: IdentityLists;
  now: () => number;
  randomBytes: (n: number) => Uint8Array;
}

/** `url` is request.url as the entry parsed and read it (once per request). */
export async function handleRequest(request: Request, url: RequestTarget, env: Env, ctx: ExecutionContext, deps: EdgeDeps): Promise<Response> {
  const now = deps.now();
  // Values that are usually ready are awaited only when they are not: each await of a
  // settled value is still a microtask turn on every request.
  const cached = deps.configCache.get(env.CANARY_CONFIG, now, deps.configRefreshMs, (p) => ctx.waitUntil(p));
  const view = cached instanceof Promise ? await cached : cached;
  if (!view.config) {
    return errorResponse(503, "no_config", "edge-canary has no valid config yet", view.error?.messages);
  }
  const route = matchRoute(view.config, url.host, url.pathname);
  if (!route) {
    return errorResponse(404, "no_route", `no edge-canary route matches host "${hostWithoutPort(url.host)}" and path "${url.pathname}"`);
  }

  // Our CDN-Loop token on the way in: an origin points back at this Worker. Refused,
  // recorded (never as evidence: the hop before us records the 508 as its origin's).
  const loop = request.headers.get("cdn-loop");
  if (loop !== null && hasOurLoopToken(loop)) return refuseLoop(request, route, ctx, deps);

  const headers = new RequestHeaders(request.headers);
  let identity = resolveIdentity(headers, route.sticky, () => mintIdentity(deps.randomBytes));
  // With IDENTITY_SECRET set our cookie must carry a valid tag; a previous secret's tag
  // is accepted and re-issued under the current one.
  const secrets = deps.identities.secretsOf(env);
  let issue = identity.source === "minted";
  if (secrets && identity.source === "own-cookie") {
    const checked = deps.identities.check(identity, secrets);
    const verdict = checked instanceof Promise ? await checked : checked;
    if (verdict === undefined) identity = { id: mintIdentity(deps.randomBytes), source: "minted" };
    issue = verdict !== "current";
  }
  // Tagging is a WebCrypto call: started now, awaited once the origin has answered.
  const cookieValue = issue ? (secrets ? tagIdentity(secrets.current, identity.id) : identity.id) : undefined;
  const cf = request.cf as { colo?: string; country?: string } | undefined;
  const country = cf?.country ?? "";
  // What segment predicates read: built only for a route with a country filter or rings.
  let facts: RequestFacts | undefined;
  const override = overrideVariant(headers, route, env, now);
  const pinned = override instanceof Promise ? await override : override;
  const allowed = route.countries === undefined || countryAllowed(route, (facts = factsOf(request, url, headers, identity.id, now)));
  // The weight is asked for even when pinned, so the isolate keeps syncing.
  const current = deps.weights.weight(route, view.config.sync, env, ctx);
  const weight = current instanceof Promise ? await current : current;
  const method = request.method;
  let variant: Variant;
  let ring: string | undefined;
  let mirror: Mirror | undefined;
  if (pinned !== undefined) variant = pinned;
  else if (!allowed) variant = "stable";
  else {
    const bucket = bucketOf(releaseSalt(route.id, route.release), identity.id);
    const rings = deps.weights.rings(route);
    if (rings.length === 0) variant = variantFor(bucket, weight);
    else {
      facts ??= factsOf(request, url, headers, identity.id, now);
      const ev = new SegmentEvaluation(compiledSegments(view.config), facts, segmentSources(env, deps.identityLists, deps.configRefreshMs, now, ctx));
      const decision = decideRings(ev, rings, weight, bucket);
      const decided = decision instanceof Promise ? await decision : decision;
      variant = decided.canary ? "canary" : "stable";
      ring = decided.ring;
    }
    // Mirroring draws on the same bucket as the cohort: the same users stay mirrored as
    // the share grows. Pinned and country-filtered requests are never mirrored.
    const share = deps.weights.shadow(route);
    if (share > 0 && variant === "stable" && bucket < Math.round(share * 100)) {
      mirror = deps.mirrors.prepare(request, { route, method, url, identity: identity.id, colo: cf?.colo ?? "", country });
    }
  }

  let result: ProxyOutcome;
  try {
    result = await proxy(request, method, url, route, variant, deps.now);
  } catch (e) {
    mirror?.release();
    throw e;
  }
  const served = result.served;
  let origin = served.response;
  // The origin's metrics header is read for route.metrics and removed from every route's
  // responses, metrics or not: an origin's internal numbers (a model's score, tokens
  // spent) must never reach clients because a route's metrics were turned off or not yet
  // on. It costs one header lookup per response, and a delete only when the origin sent it.
  const metricsHeader = route.metricSources.originHeader;
  const metricsValue = origin ? origin.headers.get(metricsHeader) : null;
  if (mirror) {
    // A mirrored request whose stable body is compared hands the user one branch of a tee.
    if (origin) origin = mirror.split(origin);
    // An upload the client abandoned says nothing about the canary: not mirrored. The
    // mirror itself waits a timer turn, so it leaves after this response is handed over.
    if (result.primary.errorKind === "client_abort" || result.primary.errorKind === "client_stall") mirror.release();
    else ctx.waitUntil(mirror.run(result.primary, deps.sink));
  }
  let response: Response;
  // The re-wrapped response's headers, read once (a runtime call) for the writes and the size.
  let out: Headers | undefined;
  // Nothing to add: hand the origin's response through untouched (no re-wrap).
  if (origin && !route.exposeHeaders && !result.fallback && !issue && metricsValue === null) response = origin;
  else {
    response = origin
      ? rewrap(origin, served.status)
      : failureResponse(served, result.servedBy);
    out = response.headers;
    if (metricsValue !== null) out.delete(metricsHeader);
    if (route.exposeHeaders) {
      out.set("x-canary-variant", result.servedBy);
      out.set("x-canary-release", route.release);
    }
    if (result.fallback) out.set("x-canary-fallback", "1");
    if (cookieValue !== undefined) {
      const value = typeof cookieValue === "string" ? cookieValue : await cookieValue;
      const secure = route.sticky.secure === "auto" ? url.protocol === "https:" : route.sticky.secure;
      out.append("set-cookie", serializeCookie(route.sticky.cookieName, value, { maxAgeSec: route.sticky.maxAgeSec, secure, domain: route.sticky.domain }));
    }
  }
  // Events are the answering variant's: after a fallback the failed canary's header was
  // never read and stable's says nothing about the canary, so none is recorded. Forced
  // requests are not evidence. Parsed after the response is on its way (a user's events
  // before their exposure count the same: the coordinator client exposes them with the first).
  if (metricsValue !== null && route.metrics.length > 0 && !result.fallback && pinned === undefined && allowed) {
    ctx.waitUntil(Promise.resolve().then(() => recordOriginMetrics(deps.sink, route, variant, identity.id, metricsValue)));
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
    identity: identity.id,
    ring,
  };
  ctx.waitUntil(Promise.resolve().then(() => deps.sink.record(outcome)));
  return injectMetricsScript(response, route, method, deps.adminBasePath);
}

function recordOriginMetrics(sink: MetricSink, route: RouteConfig, variant: Variant, identity: string, header: string): Promise<unknown> | undefined {
  let pending: Array<void | Promise<void>> | undefined;
  for (const { name, value } of parseOriginMetrics(header, route.metrics)) {
    const r = sink.recordMetric({ routeId: route.id, release: route.release, variant, identity, name, value, source: "origin" });
    if (r instanceof Promise) (pending ??= []).push(r);
  }
  return pending ? Promise.all(pending) : undefined;
}

// A loop repeats on every request: logged at most once per 10 s per isolate; every one is in AE.
const LOOP_LOG_EVERY_MS = 10_000;
let loopLoggedAt = Number.NEGATIVE_INFINITY;

function refuseLoop(request: Request, route: RouteConfig, ctx: ExecutionContext, deps: EdgeDeps): Response {
  const cf = request.cf as { colo?: string; country?: string } | undefined;
  const claimed = request.headers.get("x-canary-variant");
  const outcome: Outcome = {
    routeId: route.id,
    variant: claimed === "canary" ? "canary" : "stable",
    release: route.release,
    method: request.method,
    status: 508,
    originMs: 0,
    fallback: false,
    errorKind: "loop",
    colo: cf?.colo ?? "",
    country: cf?.country ?? "",
    bytes: -1,
    forced: true,
  };
  ctx.waitUntil(Promise.resolve().then(() => deps.sink.record(outcome)));
  const now = deps.now();
  if (now - loopLoggedAt >= LOOP_LOG_EVERY_MS) {
    loopLoggedAt = now;
    console.error(JSON.stringify({ level: "error", msg: "request loop: an origin points back at edge-canary", route: route.id, cdnLoop: request.headers.get("cdn-loop") }));
  }
  return errorResponse(508, "loop_detected", `request loop: route "${route.id}" has an origin that points back at edge-canary (CDN-Loop already names ${CDN_LOOP_ID})`);
}

/** The edge's answer when no origin response came: the client's fault is a 4xx, never a 502. */
function failureResponse(served: OriginResult, servedBy: Variant): Response {
  const message = served.message ?? served.errorKind;
  if (served.errorKind === "client_stall") return errorResponse(408, "client_stall", `request body stalled: ${message}`);
  if (served.errorKind === "client_abort") return errorResponse(400, "client_abort", `request body aborted: ${message}`);
  return errorResponse(502, served.errorKind === "timeout" ? "origin_timeout" : "origin_unreachable", `${servedBy} origin failed: ${message}`);
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

function factsOf(request: Request, url: RequestTarget, headers: RequestHeaders, identity: string, nowMs: number): RequestFacts {
  return requestFacts({ host: hostWithoutPort(url.host), path: url.pathname, headers, cf: request.cf as Record<string, unknown> | undefined, identity, nowSec: Math.floor(nowMs / 1000) });
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
  // A body is watched on its way (upload-watch.ts); a bodiless request pays nothing.
  const upload = request.body === null ? undefined : new UploadWatch(request.body, request.headers.get("content-length"), origin.timeoutMs);
  const primary = await fetchOrigin(
    (signal) => buildOriginRequest(request, method, url, origin, variant, route.release, route.override.header, signal, upload?.body, route.override.cookie),
    origin.timeoutMs,
    failStatuses,
    now,
    upload,
  );
  // Only a failed canary fetch of a bodiless idempotent request is replayed: a body
  // stream can be read once, and a POST may have had side effects on the canary. The
  // body is looked at last, only once a replay is otherwise due.
  // A 508 is our own loop refusal one hop further (the canary origin points back at us).
  const replay = variant === "canary" && (primary.errorKind !== "none" || primary.status === 508) && route.fallback.enabled && IDEMPOTENT.has(method) && upload === undefined;
  if (!replay) return { primary, served: primary, servedBy: variant, fallback: false };
  await primary.response?.body?.cancel();
  const served = await fetchOrigin(
    (signal) => buildOriginRequest(request, method, url, route.stable, "stable", route.release, route.override.header, signal, null, route.override.cookie),
    route.stable.timeoutMs,
    [],
    now,
  );
  return { primary, served, servedBy: "stable", fallback: true };
}
