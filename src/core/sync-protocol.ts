// The one call between an isolate and a route's coordinator: deliver the evidence
// gathered since the last acknowledged sync, get the current state back. It is
// relay-shaped: deltas merge associatively (mergeEvidence), and the reply carries
// the state with its epoch, so a regional relay can sit between isolates and the
// coordinator later without changing any caller.
import type { RouteConfig } from "./config/schema.js";
import { MAX_FAILED_IDS, MAX_METRIC_USERS, MAX_RINGS, type Evidence } from "./evidence.js";
import { isUsersSketch } from "./stats/distinct-users.js";
import type { RolloutState } from "./rollout/state.js";
import type { MismatchSample } from "./shadow/shadow-outcome.js";

export interface SyncRequest {
  routeId: string;
  /** Random per isolate; with seq it makes a retried delivery count once. */
  isolateId: string;
  /** Increases by one per delivered delta; a resend carries the same seq. */
  seq: number;
  /** Hash of the route config the isolate serves; a mismatch makes the coordinator re-read KV. */
  configHash: string;
  release: string;
  delta: Evidence;
  /** Epoch of the state the isolate served this delta under (absent before its first state). */
  servedEpoch?: number;
  /**
   * Only while the isolate's config hash differs from the one in the last state it got
   * back: its route config and when it read that document (ms epoch). The coordinator
   * adopts it when the KV document it reads itself is invalid and this one is newer
   * than its own (docs/rollout-lifecycle.md, "Config convergence").
   */
  offer?: { route: RouteConfig; loadedAt: number };
  /** The newest shadow mismatches since the last acknowledged sync, at most SAMPLES_PER_SYNC (shadow-outcome.ts). */
  mismatches?: MismatchSample[];
}

export interface SyncResponse {
  state: RolloutState | undefined;
  /** True when this delta had been applied already (a retry). */
  duplicate: boolean;
  /** Coordinator's clock, for isolates' staleness checks and the status API. */
  now: number;
  /**
   * Set when the delta was malformed (checkDelta) and was dropped unapplied: acknowledged,
   * so the isolate does not resend it, and never merged into the evidence.
   */
  refused?: string;
}

/**
 * Longest ring key a delta may carry: a ring key is plan.ts audienceLabel, at most 16
 * segment names of 63 characters, 64 "colo:XXX" and 7 "continent:XX", joined by "+".
 */
export const MAX_RING_KEY = 2048;

const isCount = (x: unknown): boolean => typeof x === "number" && Number.isFinite(x) && x >= 0;

function armProblem(a: unknown, where: string): string | undefined {
  if (typeof a !== "object" || a === null || Array.isArray(a)) return `${where} is not an arm`;
  const x = a as Record<string, unknown>;
  if (!isCount(x.requests) || !isCount(x.errors)) return `${where}: requests and errors must be counts`;
  const l = x.latency as Record<string, unknown> | null | undefined;
  if (typeof l !== "object" || l === null || !isCount(l.count) || typeof l.bins !== "object" || l.bins === null) return `${where}: latency is not a sketch`;
  if (x.failedIds !== undefined && !(Array.isArray(x.failedIds) && x.failedIds.length <= MAX_FAILED_IDS && x.failedIds.every((id) => typeof id === "number"))) {
    return `${where}: failedIds must be at most ${MAX_FAILED_IDS} numbers`;
  }
  if (x.failedOverflow !== undefined && !isCount(x.failedOverflow)) return `${where}: failedOverflow must be a count`;
  if (x.users !== undefined && !isUsersSketch(x.users)) return `${where}: users is not a users sketch`;
  return undefined;
}

/** A user key of metric evidence: identityHash as a decimal string (a 32-bit unsigned integer). */
const USER_KEY = /^(0|[1-9]\d{0,9})$/;
/** A metric name as MetricSchema has it. */
const METRIC_NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** Metrics one user may carry in a delta: route.metrics has at most 16. */
const MAX_USER_METRICS = 16;

function metricArmProblem(a: unknown, where: string): string | undefined {
  if (typeof a !== "object" || a === null || Array.isArray(a)) return `${where} is not a record of users`;
  const users = Object.keys(a);
  if (users.length > MAX_METRIC_USERS) return `${where}: ${users.length} users (at most ${MAX_METRIC_USERS})`;
  for (const user of users) {
    if (!USER_KEY.test(user) || Number(user) > 0xffffffff) return `${where}: a user key that is not an identity hash`;
    const m = (a as Record<string, unknown>)[user];
    if (typeof m !== "object" || m === null || Array.isArray(m)) return `${where}: user ${user} is not a record of metrics`;
    const names = Object.keys(m);
    if (names.length > MAX_USER_METRICS) return `${where}: user ${user} has ${names.length} metrics (at most ${MAX_USER_METRICS})`;
    for (const name of names) {
      if (!METRIC_NAME.test(name)) return `${where}: a metric name that is not one (${name.slice(0, 40)})`;
      const v = (m as Record<string, unknown>)[name];
      if (!Array.isArray(v) || v.length !== 2 || !isCount(v[0]) || typeof v[1] !== "number" || !Number.isFinite(v[1])) return `${where}: ${name} of user ${user} is not [count, sum]`;
    }
  }
  return undefined;
}

function metricsProblem(m: unknown): string | undefined {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "metrics is not metric evidence";
  const x = m as Record<string, unknown>;
  if (x.overflow !== undefined && !isCount(x.overflow)) return "metrics: overflow must be a count";
  return metricArmProblem(x.stable, "metrics stable") ?? metricArmProblem(x.canary, "metrics canary");
}

/**
 * Why a delta cannot be merged, or undefined when it can. The coordinator refuses a
 * malformed delta (SyncResponse.refused) rather than merging it, so no isolate can crash it
 * or grow its windows without bound: at most MAX_RINGS rings of keys up to MAX_RING_KEY
 * characters, each with two well-formed arms, and metric evidence of at most
 * MAX_METRIC_USERS users per arm, keyed by identity hash, with metric names as
 * MetricSchema's, non-negative counts and finite sums. Shallow on the sketches' bins (their merge
 * copes with any numeric record).
 */
export function checkDelta(delta: unknown): string | undefined {
  if (typeof delta !== "object" || delta === null || Array.isArray(delta)) return "delta is not evidence";
  const d = delta as Record<string, unknown>;
  const problem = armProblem(d.stable, "stable") ?? armProblem(d.canary, "canary");
  if (problem) return problem;
  if (d.shadow !== undefined && (typeof d.shadow !== "object" || d.shadow === null)) return "shadow is not shadow evidence";
  if (d.metrics !== undefined) {
    const p = metricsProblem(d.metrics);
    if (p) return p;
  }
  if (d.rings === undefined) return undefined;
  if (typeof d.rings !== "object" || d.rings === null || Array.isArray(d.rings)) return "rings is not a record";
  const keys = Object.keys(d.rings);
  if (keys.length > MAX_RINGS) return `${keys.length} rings (at most ${MAX_RINGS})`;
  for (const key of keys) {
    if (key.length === 0 || key.length > MAX_RING_KEY) return `a ring key of ${key.length} characters (1 to ${MAX_RING_KEY})`;
    const r = (d.rings as Record<string, unknown>)[key];
    if (typeof r !== "object" || r === null || Array.isArray(r)) return `ring ${key.slice(0, 64)} is not ring evidence`;
    const ring = r as Record<string, unknown>;
    const p = armProblem(ring.stable, `ring ${key.slice(0, 64)} stable`) ?? armProblem(ring.canary, `ring ${key.slice(0, 64)} canary`);
    if (p) return p;
  }
  return undefined;
}
