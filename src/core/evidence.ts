// The evidence an isolate collects per route and the coordinator (or a relay) merges:
// per variant, request and error counts plus a latency sketch. It is a commutative
// monoid (emptyEvidence is the identity, mergeEvidence is associative), so deltas can be
// merged in any grouping and order, which keeps the sync contract relay-shaped. The
// unit of analysis is the user: each arm also carries the identities (32-bit hashes)
// that had an error, at most MAX_FAILED_IDS of them (failing identities are rare; any
// beyond the cap are counted in failedOverflow, each as a distinct identity), so the
// engine can count every failing identity once per rollout however often it retries.
import { murmur3 } from "./bucket.js";
import { addIdentity, mergeIdentities } from "./identity-list.js";
import { emptyShadow, mergeShadow, mirrored, type ShadowEvidence } from "./shadow/shadow-evidence.js";
import { addValue, emptySketch, mergeSketches, type Sketch } from "./stats/ddsketch.js";
import { addUser, emptyUsers, mergeUsers, type UsersSketch } from "./stats/distinct-users.js";

/** Failing identities kept per arm and delta (or window); beyond, only counted. */
export const MAX_FAILED_IDS = 512;

export interface ArmEvidence {
  requests: number;
  errors: number;
  latency: Sketch;
  /** Hashes of identities with at least one error, distinct, at most MAX_FAILED_IDS. Absent: none (or an old isolate). */
  failedIds?: number[];
  /** Failing identities beyond the cap, or errors recorded without an identity. */
  failedOverflow?: number;
  /**
   * Distinct identities seen (stats/distinct-users.ts), on a ring's arms only (status shows
   * users per ring); absent on the totals and before the first request with an identity.
   */
  users?: UsersSketch;
}

/** The requests of one ring (plan.ts Ring, by its key): counted in the totals too. */
export interface RingEvidence {
  stable: ArmEvidence;
  canary: ArmEvidence;
}

/** Rings one delta or window carries at most: a plan has at most 50 stages. */
export const MAX_RINGS = 50;

/**
 * Per-user metric events of one arm: identity hash (identityHash, as a decimal string) ->
 * metric name -> [count, sum]. A user with requests but no event of any metric is there
 * with {} (the conversion and rate-per-user denominators count exposed users).
 */
export type MetricUsers = Record<string, Record<string, readonly [number, number]>>;

/** Users one delta carries per arm at most; beyond, their events are counted in `overflow` only. */
export const MAX_METRIC_USERS = 4096;

export interface MetricEvidence {
  stable: MetricUsers;
  canary: MetricUsers;
  /** Events (and exposures) of users beyond MAX_METRIC_USERS, not attributed. */
  overflow?: number;
}

export interface Evidence {
  /** Every request of the route: the rings' and everyone else's. */
  stable: ArmEvidence;
  canary: ArmEvidence;
  /**
   * Per ring of a plan with ring stages, keyed by Ring.key ("staff", "colo:AKL"): the
   * requests attributed to it (the first ring of the plan they are in). Absent: no rings.
   */
  rings?: Record<string, RingEvidence>;
  /** Per-user metric events of a route with route.metrics (src/core/metrics); absent: none. */
  metrics?: MetricEvidence;
  /** Mirrored requests of a shadow stage (shadow/shadow-evidence.ts); absent when none were. */
  shadow?: ShadowEvidence;
}

const emptyArm = (): ArmEvidence => ({ requests: 0, errors: 0, latency: emptySketch() });

function mergeIds(a: ArmEvidence, b: ArmEvidence): Pick<ArmEvidence, "failedIds" | "failedOverflow"> {
  const { ids, overflow } = mergeIdentities(a.failedIds, a.failedOverflow ?? 0, b.failedIds, b.failedOverflow ?? 0, MAX_FAILED_IDS);
  const out: Pick<ArmEvidence, "failedIds" | "failedOverflow"> = {};
  if (ids.length > 0) out.failedIds = ids;
  if (overflow > 0) out.failedOverflow = overflow;
  return out;
}

const mergeArm = (a: ArmEvidence, b: ArmEvidence): ArmEvidence => ({
  requests: a.requests + b.requests,
  errors: a.errors + b.errors,
  latency: mergeSketches(a.latency, b.latency),
  ...mergeIds(a, b),
  // An arm without a sketch is an empty one (the sketch's identity): merging stays a monoid.
  ...(a.users || b.users ? { users: mergeUsers(a.users ?? emptyUsers(), b.users ?? emptyUsers()) } : {}),
});

export function emptyEvidence(): Evidence {
  return { stable: emptyArm(), canary: emptyArm() };
}

/** Pure: returns a new object and never aliases the inputs' sketches. */
export function mergeEvidence(a: Evidence, b: Evidence): Evidence {
  const out: Evidence = { stable: mergeArm(a.stable, b.stable), canary: mergeArm(a.canary, b.canary) };
  // mergeShadow with an empty side copies the other: the result never aliases an input.
  if (a.shadow || b.shadow) out.shadow = mergeShadow(a.shadow ?? emptyShadow(), b.shadow ?? emptyShadow());
  if (a.rings || b.rings) out.rings = mergeRings(a.rings ?? {}, b.rings ?? {});
  if (a.metrics || b.metrics) out.metrics = mergeMetrics(a.metrics ?? emptyMetrics(), b.metrics ?? emptyMetrics());
  return out;
}

export const emptyMetrics = (): MetricEvidence => ({ stable: {}, canary: {} });

/**
 * Per arm, the union of users with their [count, sum] added per metric. Past
 * MAX_METRIC_USERS users in an arm, the users with the smallest hashes are kept (an order
 * that does not depend on which side a user came from, so the merge stays commutative and
 * associative: a user dropped from a partial union is dropped from the whole one too) and
 * the dropped users' events go to `overflow`.
 */
export function mergeMetrics(a: MetricEvidence, b: MetricEvidence): MetricEvidence {
  let overflow = (a.overflow ?? 0) + (b.overflow ?? 0);
  const arm = (x: MetricUsers, y: MetricUsers): MetricUsers => {
    const out: MetricUsers = {};
    for (const [key, m] of Object.entries(x)) out[key] = { ...m };
    for (const [key, m] of Object.entries(y)) {
      // Own properties only: a metric named "constructor" must not read Object's.
      const to = Object.hasOwn(out, key) ? out[key]! : (out[key] = {});
      for (const [name, [count, sum]] of Object.entries(m)) {
        const had = Object.hasOwn(to, name) ? to[name] : undefined;
        to[name] = had ? [had[0] + count, had[1] + sum] : [count, sum];
      }
    }
    const keys = Object.keys(out);
    if (keys.length <= MAX_METRIC_USERS) return out;
    keys.sort((p, q) => Number(p) - Number(q));
    for (const key of keys.slice(MAX_METRIC_USERS)) {
      for (const [count] of Object.values(out[key]!)) overflow += count;
      delete out[key];
    }
    return out;
  };
  const out: MetricEvidence = { stable: arm(a.stable, b.stable), canary: arm(a.canary, b.canary) };
  if (overflow > 0) out.overflow = overflow;
  return out;
}

/** Users of both arms (exposures count: a user with {} is one). */
export const metricUserCount = (m: MetricEvidence): number => Object.keys(m.stable).length + Object.keys(m.canary).length;

function mergeRings(a: Record<string, RingEvidence>, b: Record<string, RingEvidence>): Record<string, RingEvidence> {
  const out: Record<string, RingEvidence> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    // Merging with an empty ring copies (never aliases) the other side's sketches.
    out[key] = { stable: mergeArm(x?.stable ?? emptyArm(), y?.stable ?? emptyArm()), canary: mergeArm(x?.canary ?? emptyArm(), y?.canary ?? emptyArm()) };
  }
  return out;
}

/** Seed of the identity hash the evidence carries (failing identities are counted once per rollout). */
const IDENTITY_EVIDENCE_SEED = 0x1d3e;

/** An identity as the evidence carries it: 32 bits, only ever needed for a failing request. */
export const identityHash = (id: string): number => murmur3(id, IDENTITY_EVIDENCE_SEED);

/**
 * Hot path: mutates e, O(1) for a success (an error scans the arm's few failing ids).
 * Which outcomes are errors is the caller's call (guardrails); identityHash is the
 * request's identity hashed to 32 bits (without one, an error counts as its own identity).
 * A request of a ring is counted in the totals and in its ring, whose arms also count its
 * identity among their distinct users (a 128-register sketch: O(1) per request).
 */
export function recordOutcome(e: Evidence, variant: "stable" | "canary", isError: boolean, latencyMs: number, identityHash?: number, ring?: string): void {
  recordArm(e[variant], isError, latencyMs, identityHash);
  if (ring === undefined) return;
  const rings = (e.rings ??= {});
  const r = (rings[ring] ??= { stable: emptyArm(), canary: emptyArm() });
  const arm = r[variant];
  recordArm(arm, isError, latencyMs, identityHash);
  if (identityHash !== undefined) addUser((arm.users ??= emptyUsers()), identityHash);
}

function recordArm(arm: ArmEvidence, isError: boolean, latencyMs: number, identityHash: number | undefined): void {
  arm.requests++;
  addValue(arm.latency, latencyMs);
  if (!isError) return;
  arm.errors++;
  if (identityHash === undefined) {
    arm.failedOverflow = (arm.failedOverflow ?? 0) + 1;
    return;
  }
  if (!addIdentity((arm.failedIds ??= []), identityHash, MAX_FAILED_IDS)) arm.failedOverflow = (arm.failedOverflow ?? 0) + 1;
}

export function isEmptyEvidence(e: Evidence): boolean {
  return (
    e.stable.requests === 0 &&
    e.canary.requests === 0 &&
    e.stable.latency.count === 0 &&
    e.canary.latency.count === 0 &&
    (e.shadow === undefined || mirrored(e.shadow) === 0) &&
    (e.metrics === undefined || (metricUserCount(e.metrics) === 0 && (e.metrics.overflow ?? 0) === 0))
  );
}
