// POST <base>/api/explain: what the request path would do with a described request, and
// why. The same pieces decide (route match, identity, signed override, country filter,
// bucket, decideRings over the Worker's secrets and KV lists) against the coordinator's
// state as an isolate with this config would serve it (confirmedWeight, confirmedRings),
// so the answer is the edge's, not a second implementation of it. Bad input is a 400
// that names the field.
import { StatusError } from "itty-router";
import type { CoordinatorStatus, ExplainRequest, ExplainResponse } from "../core/admin-protocol.js";
import { bucketOf, releaseSalt } from "../core/bucket.js";
import { readCookie } from "../core/cookies.js";
import { CF_FIELDS, type Config, type RouteConfig } from "../core/config/schema.js";
import { MAX_APP_IDENTITY, mintIdentity, resolveIdentity } from "../core/identity.js";
import { verifyOverride } from "../core/override-token.js";
import { confirmedRings, confirmedWeight } from "../core/rollout/effective-weight.js";
import { planOf, stageAt, stageLabel } from "../core/rollout/plan.js";
import { routeHash } from "../core/route-hash.js";
import { hostWithoutPort, matchRoute } from "../core/route-match.js";
import { countryAllowed } from "../core/segments/countries-segment.js";
import { requestFacts, type SegmentSources } from "../core/segments/request-facts.js";
import { compiledSegments, decideRings, SegmentEvaluation } from "../core/segments/segment-match.js";

const CF: ReadonlySet<string> = new Set(CF_FIELDS);
const MAX_URL = 4096;
const MAX_HEADERS = 100;

/** The body checked field by field; a StatusError 400 names the first wrong one. */
export function parseExplainRequest(body: Record<string, unknown>): ExplainRequest & { headers: Record<string, string>; cf: Record<string, string> } {
  const allowed = new Set(["url", "method", "headers", "cf", "identity"]);
  const extra = Object.keys(body).find((k) => !allowed.has(k));
  if (extra !== undefined) throw new StatusError(400, `unknown field "${extra}" (fields: ${[...allowed].join(", ")})`);
  const { url, method, identity } = body;
  if (typeof url !== "string" || url === "" || url.length > MAX_URL) throw new StatusError(400, `url must be a non-empty string of at most ${MAX_URL} characters: an absolute http(s) URL or a path starting with /`);
  if (!url.startsWith("/") && !/^https?:\/\//i.test(url)) throw new StatusError(400, `url must be an absolute http(s) URL or a path starting with / (got "${url.slice(0, 100)}")`);
  if (method !== undefined && (typeof method !== "string" || !/^[A-Za-z]{1,16}$/.test(method))) throw new StatusError(400, "method must be an HTTP method like GET");
  if (identity !== undefined && (typeof identity !== "string" || identity === "" || identity.length > MAX_APP_IDENTITY)) {
    throw new StatusError(400, `identity must be a non-empty string of at most ${MAX_APP_IDENTITY} characters`);
  }
  const headers = stringRecord(body.headers, "headers");
  if (Object.keys(headers).length > MAX_HEADERS) throw new StatusError(400, `headers must have at most ${MAX_HEADERS} entries`);
  for (const name of Object.keys(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new StatusError(400, `headers: "${name.slice(0, 100)}" is not a header name`);
  }
  const cf = stringRecord(body.cf, "cf");
  for (const field of Object.keys(cf)) {
    if (!CF.has(field)) throw new StatusError(400, `cf: unknown field "${field.slice(0, 100)}" (fields: ${CF_FIELDS.join(", ")})`);
  }
  return { url, method: (method ?? "GET").toUpperCase(), headers, cf, ...(identity === undefined ? {} : { identity }) };
}

function stringRecord(v: unknown, field: string): Record<string, string> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new StatusError(400, `${field} must be an object of strings`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== "string") throw new StatusError(400, `${field}.${k} must be a string`);
  return v as Record<string, string>;
}

export interface ExplainDeps {
  config: Config;
  /** The route's coordinator status (its status RPC). */
  status(routeId: string): Promise<CoordinatorStatus>;
  sources: SegmentSources;
  now: number;
  randomBytes: (n: number) => Uint8Array;
  overrideSecret: string | undefined;
}

export async function explain(req: ReturnType<typeof parseExplainRequest>, deps: ExplainDeps): Promise<ExplainResponse> {
  const target = new URL(req.url, "http://explain.invalid");
  const host = req.url.startsWith("/") ? "" : target.host;
  const path = target.pathname;
  const headers = new Headers(req.headers);
  const route = matchRoute(deps.config, host, path);
  const identity = req.identity ?? (route ? resolveIdentity(headers, route.sticky, () => mintIdentity(deps.randomBytes)).id : mintIdentity(deps.randomBytes));
  const facts = requestFacts({ host: hostWithoutPort(host), path, headers, cf: req.cf, identity, nowSec: Math.floor(deps.now / 1000) });
  const ev = new SegmentEvaluation(compiledSegments(deps.config), facts, deps.sources);
  const segments: Record<string, boolean> = {};
  for (const name of Object.keys(deps.config.segments)) segments[name] = await ev.segment(name);
  if (!route) return { route: null, segments, ring: null, variant: null, reason: `no route matches host "${hostWithoutPort(host)}" and path "${path}"` };

  const status = await deps.status(route.id);
  const state = status.state;
  const stage = stageOf(route, state);
  const base = { route: route.id, release: route.release, ...(stage ? { stage } : {}), segments };
  const bucket = bucketOf(releaseSalt(route.id, route.release), identity);
  const pinned = await overridden(headers, route, deps);
  if (pinned !== undefined) return { ...base, ring: null, bucket, variant: pinned, reason: `a signed override pins ${pinned}` };
  if (!countryAllowed(route, facts)) {
    return { ...base, ring: null, bucket, variant: "stable", reason: `the route's country filter keeps country ${facts.cf("country") ?? "(none)"} on stable` };
  }
  const hash = routeHash(route);
  const everyone = confirmedWeight(route, hash, state);
  const rings = confirmedRings(route, hash, state);
  const decided = await decideRings(ev, rings, everyone, bucket);
  const variant = decided.canary ? "canary" : "stable";
  const reason = await reasonFor(ev, rings, everyone, bucket, decided.canary, state?.phase, state?.release === route.release);
  return { ...base, ring: decided.ring ?? null, bucket, variant, reason };
}

function stageOf(route: RouteConfig, state: CoordinatorStatus["state"]): string | undefined {
  if (state === undefined) return undefined;
  if (state.release !== route.release) return `release ${state.release} (this config's ${route.release} not started yet)`;
  if (state.phase !== "progressing" && state.phase !== "paused") return state.phase;
  const s = stageAt(planOf(route), state.stepIndex);
  return s ? stageLabel(s) : state.phase;
}

async function overridden(headers: Headers, route: RouteConfig, deps: ExplainDeps): Promise<"stable" | "canary" | undefined> {
  if (!deps.overrideSecret) return undefined;
  const token = headers.get(route.override.header) ?? readCookie(headers.get("cookie"), route.override.cookie);
  if (!token) return undefined;
  return verifyOverride(token, deps.overrideSecret, route.id, Math.floor(deps.now / 1000));
}

const units = (percent: number): number => Math.round(percent * 100);

async function reasonFor(
  ev: SegmentEvaluation,
  rings: Parameters<typeof decideRings>[1],
  everyone: number,
  bucket: number,
  canary: boolean,
  phase: string | undefined,
  sameRelease: boolean,
): Promise<string> {
  if (phase === undefined) return "the coordinator has no state for this route yet: everyone is served stable";
  if (!sameRelease) return "the coordinator's rollout is of another release: everyone is served stable until it takes this one";
  if (phase === "rolled_back") return "the release is rolled back: everyone is served stable";
  if (phase === "idle") return "the rollout has not started: everyone is served stable";
  const everyoneText = `${everyone}% of everyone (bucket < ${units(everyone)})`;
  if (canary && bucket < units(everyone)) return `bucket ${bucket} is within ${everyoneText}`;
  const inRings: Array<(typeof rings)[number]> = [];
  for (const r of rings) if (await ev.audience(r.audience)) inRings.push(r);
  const giving = inRings.find((r) => bucket < units(r.percent));
  if (canary && giving) return `in ring ${giving.key} at ${giving.percent}%: bucket ${bucket} < ${units(giving.percent)}`;
  const ringText = inRings.length === 0 ? (rings.length === 0 ? "" : ", and in no ring's audience") : `, and in ring ${inRings[0]!.key} at ${inRings[0]!.percent}% bucket ${bucket} >= ${units(inRings[0]!.percent)}`;
  return `bucket ${bucket} >= ${units(everyone)} (${everyone}% of everyone)${ringText}`;
}
