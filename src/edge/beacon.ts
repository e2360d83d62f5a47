// Browser beacons: POST <ADMIN_BASE_PATH>/beacon on a route's hosts, as navigator.sendBeacon
// sends them (text/plain) or fetch (application/json). Not admin: no token, same origin only
// (no CORS headers, so another site's page cannot read the answer, and a cross-site JSON
// POST needs a preflight we never grant). The route is the one matching the request's
// host and the payload's `page` (else the Referer's path, same host only); it must have
// metricSources.beacon or inject. The variant is the server's: the route's own-cookie
// identity with a valid IDENTITY_SECRET tag, put through the cohort decision of the
// request path (bucket, the isolate's weight and rings); a beacon without one is refused
// (403), none is minted. Forced users (a signed override, a country outside the filter)
// are not evidence: their events are dropped. Events of names outside route.metrics and
// beyond maxEventsPerUser a minute are dropped; what happened is counted in the
// x-canary-beacon header of the 204. A refused beacon changes nothing.
import { boundedText } from "../core/bounded-text.js";
import { bucketOf, releaseSalt, variantFor } from "../core/bucket.js";
import type { Config, RouteConfig, Variant } from "../core/config/schema.js";
import { readCookie } from "../core/cookies.js";
import { resolveIdentity } from "../core/identity.js";
import { MAX_BEACON_BYTES, parseBeaconPayload } from "../core/metrics/beacon-payload.js";
import type { MetricEvent } from "../core/metrics/metric-event.js";
import { verifyOverride } from "../core/override-token.js";
import { hostWithoutPort, matchRoute } from "../core/route-match.js";
import { countryAllowed } from "../core/segments/countries-segment.js";
import { requestFacts, type RequestFacts } from "../core/segments/request-facts.js";
import { compiledSegments, decideRings, SegmentEvaluation } from "../core/segments/segment-match.js";
import type { BeaconRateLimit } from "./beacon-rate.js";
import { errorResponse } from "./error-response.js";
import type { EdgeDeps } from "./handle-request.js";
import { RequestHeaders } from "./request-headers.js";
import type { RequestTarget } from "./request-target.js";
import { segmentSources } from "./segment-sources.js";

/** What one accepted beacon did, per event (the 204's x-canary-beacon header). */
export interface BeaconTally {
  accepted: number;
  /** Names not in route.metrics. */
  unknown: number;
  /** Beyond maxEventsPerUser in the minute. */
  limited: number;
  /** The user's variant was forced (override or country filter): not evidence. */
  forced: number;
}

const tallyHeader = (t: BeaconTally): string => `accepted=${t.accepted}, unknown=${t.unknown}, limited=${t.limited}, forced=${t.forced}`;

function acceptsBeacons(route: RouteConfig): boolean {
  return route.metricSources.beacon || route.metricSources.inject;
}

/** text/plain (sendBeacon with a string), application/json, or none; parameters ignored. */
function contentTypeOk(header: string | null): boolean {
  if (header === null) return true;
  const type = header.split(";")[0]!.trim().toLowerCase();
  return type === "text/plain" || type === "application/json";
}

/** The Referer's path when it names the request's own host (same origin as far as a path goes). */
function refererPath(request: Request, url: RequestTarget): string | undefined {
  const referer = request.headers.get("referer");
  if (!referer) return undefined;
  try {
    const r = new URL(referer);
    return r.host === url.host ? r.pathname : undefined;
  } catch {
    return undefined;
  }
}

export async function handleBeacon(request: Request, url: RequestTarget, env: Env, ctx: ExecutionContext, deps: EdgeDeps, limits: BeaconRateLimit): Promise<Response> {
  if (request.method !== "POST") {
    const r = errorResponse(405, "method_not_allowed", "beacons are POST requests");
    r.headers.set("allow", "POST");
    return r;
  }
  const now = deps.now();
  const cached = deps.configCache.get(env.CANARY_CONFIG, now, deps.configRefreshMs, (p) => ctx.waitUntil(p));
  const view = cached instanceof Promise ? await cached : cached;
  if (!view.config) return errorResponse(503, "no_config", "edge-canary has no valid config yet", view.error?.messages);
  if (!contentTypeOk(request.headers.get("content-type"))) {
    return errorResponse(415, "beacon_content_type", "a beacon's body is JSON sent as text/plain or application/json");
  }
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_BEACON_BYTES) return errorResponse(413, "beacon_too_large", `beacon body over ${MAX_BEACON_BYTES} bytes (${length})`);
  const text = await boundedText(request.body, MAX_BEACON_BYTES);
  if (text === undefined) return errorResponse(413, "beacon_too_large", `beacon body over ${MAX_BEACON_BYTES} bytes`);
  const parsed = parseBeaconPayload(text);
  if (!parsed.ok) return errorResponse(400, "beacon_malformed", `malformed beacon: ${parsed.error}`);
  const payload = parsed.value;

  const page = payload.page ?? refererPath(request, url);
  if (page === undefined) return errorResponse(400, "beacon_no_page", 'a beacon names its page: a "page" path in the body, or a Referer of this host');
  const route = matchRoute(view.config, url.host, page);
  if (!route || !acceptsBeacons(route)) {
    return errorResponse(404, "no_beacon_route", `no route with metricSources.beacon or inject matches host "${hostWithoutPort(url.host)}" and page "${page}"`);
  }

  // Only a verifiable identity counts: our own cookie, tagged under IDENTITY_SECRET.
  const secrets = deps.identities.secretsOf(env);
  if (!secrets) return errorResponse(403, "beacon_unverifiable", "beacons need IDENTITY_SECRET: without it no identity can be verified");
  const headers = new RequestHeaders(request.headers);
  const identity = resolveIdentity(headers, route.sticky, () => "");
  if (identity.source !== "own-cookie") {
    return errorResponse(403, "beacon_no_identity", `a beacon must carry the route's identity cookie "${route.sticky.cookieName}" (an app-supplied identity cannot be verified)`);
  }
  const checked = deps.identities.check(identity, secrets);
  const verdict = checked instanceof Promise ? await checked : checked;
  if (verdict === undefined) return errorResponse(403, "beacon_no_identity", `the identity cookie "${route.sticky.cookieName}" has no valid tag`);

  const tally: BeaconTally = { accepted: 0, unknown: 0, limited: 0, forced: 0 };
  const known = payload.events.filter((e) => route.metrics.some((m) => m.name === e.name));
  tally.unknown = payload.events.length - known.length;
  if (known.length > 0) {
    const variant = await attribute(request, url, headers, route, identity.id, env, ctx, deps, view.config, page, now);
    if (variant === undefined) tally.forced = known.length;
    else {
      const granted = limits.take(`${route.id}\u0000${identity.id}`, known.length, route.metricSources.maxEventsPerUser, now);
      tally.limited = known.length - granted;
      tally.accepted = granted;
      for (let i = 0; i < granted; i++) {
        const e = known[i]!;
        const event: MetricEvent = { routeId: route.id, release: route.release, variant, identity: identity.id, name: e.name, value: e.value, source: payload.source };
        ctx.waitUntil(Promise.resolve().then(() => deps.sink.recordMetric(event)));
      }
    }
  }
  return new Response(null, { status: 204, headers: { "x-canary-beacon": tallyHeader(tally), "cache-control": "no-store" } });
}

/**
 * The variant the request path gives this identity now, for the page the events are from (the core's bucket, weight and
 * ring decision over the isolate's coordinator client), or undefined when it is forced.
 */
async function attribute(
  request: Request,
  url: RequestTarget,
  headers: RequestHeaders,
  route: RouteConfig,
  identity: string,
  env: Env,
  ctx: ExecutionContext,
  deps: EdgeDeps,
  config: Config,
  page: string,
  now: number,
): Promise<Variant | undefined> {
  const current = deps.weights.weight(route, config.sync, env, ctx);
  const weight = current instanceof Promise ? await current : current;
  if (env.OVERRIDE_SECRET) {
    const token = headers.get(route.override.header) ?? readCookie(headers.get("cookie"), route.override.cookie);
    if (token && (await verifyOverride(token, env.OVERRIDE_SECRET, route.id, Math.floor(now / 1000))) !== undefined) return undefined;
  }
  let facts: RequestFacts | undefined;
  const factsOf = (): RequestFacts =>
    (facts ??= requestFacts({ host: hostWithoutPort(url.host), path: page, headers, cf: request.cf as Record<string, unknown> | undefined, identity, nowSec: Math.floor(now / 1000) }));
  if (route.countries !== undefined && !countryAllowed(route, factsOf())) return undefined;
  const bucket = bucketOf(releaseSalt(route.id, route.release), identity);
  const rings = deps.weights.rings(route);
  if (rings.length === 0) return variantFor(bucket, weight);
  const ev = new SegmentEvaluation(compiledSegments(config), factsOf(), segmentSources(env, deps.identityLists, deps.configRefreshMs, now, ctx));
  const decided = await decideRings(ev, rings, weight, bucket);
  return decided.canary ? "canary" : "stable";
}
