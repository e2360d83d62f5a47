// The evidence an isolate collects per route and the coordinator (or a relay) merges:
// per variant, request and error counts plus a latency sketch. It is a commutative
// monoid (emptyEvidence is the identity, mergeEvidence is associative), so deltas can be
// merged in any grouping and order, which keeps the sync contract relay-shaped. It
// gives up per-user detail: errors from one user's retries look like independent
// errors, which the decision engine's dispersion estimate has to make up for.
import { addValue, emptySketch, mergeSketches, type Sketch } from "./stats/ddsketch.js";

export interface ArmEvidence {
  requests: number;
  errors: number;
  latency: Sketch;
}

export interface Evidence {
  stable: ArmEvidence;
  canary: ArmEvidence;
}

const emptyArm = (): ArmEvidence => ({ requests: 0, errors: 0, latency: emptySketch() });

const mergeArm = (a: ArmEvidence, b: ArmEvidence): ArmEvidence => ({
  requests: a.requests + b.requests,
  errors: a.errors + b.errors,
  latency: mergeSketches(a.latency, b.latency),
});

export function emptyEvidence(): Evidence {
  return { stable: emptyArm(), canary: emptyArm() };
}

/** Pure: returns a new object and never aliases the inputs' sketches. */
export function mergeEvidence(a: Evidence, b: Evidence): Evidence {
  return { stable: mergeArm(a.stable, b.stable), canary: mergeArm(a.canary, b.canary) };
}

/** Hot path: mutates e in O(1). Which outcomes are errors is the caller's call (guardrails). */
export function recordOutcome(e: Evidence, variant: "stable" | "canary", isError: boolean, latencyMs: number): void {
  const arm = e[variant];
  arm.requests++;
  if (isError) arm.errors++;
  addValue(arm.latency, latencyMs);
}

export function isEmptyEvidence(e: Evidence): boolean {
  return e.stable.requests === 0 && e.canary.requests === 0 && e.stable.latency.count === 0 && e.canary.latency.count === 0;
}
