// Why a step may not advance yet, as data: the gate between "no rollback" and "advance".
// The decision engine asks this module; decision-reasons.ts only words the answer, so a
// wording change can never change what the rollout does.
import type { Explanation } from "./decision-types.js";
import type { Guardrails } from "./guardrails.js";

export type HoldReason =
  /** The step has not run minDurationMs yet. */
  | "min-duration"
  /** The canary has served fewer than minRequests requests in the step. */
  | "min-requests"
  /** The arms' traffic split does not match the weight (sample-ratio mismatch). */
  | "sample-ratio"
  /** No stable traffic in the step, so nothing to compare the canary with. */
  | "no-stable-traffic"
  /** The error test has not bounded the canary's ratio, nor is its rate shown within the SLO. */
  | "errors-unbounded"
  /** The latency threshold is still being calibrated on stable traffic. */
  | "latency-calibrating"
  /** The latency test has not bounded the ratio, nor is the canary's quantile shown under the threshold. */
  | "latency-unbounded";

/**
 * Everything that holds the step, in a fixed order; empty means it may advance. At
 * weight 100 there is no stable arm: only the minimums and the split gate the step (the
 * burn-rate breaker guards it). Each test is passed by its relative route (the mSPRT
 * bounds the ratio) or by its absolute one: errors whose upper bound is within the SLO
 * error rate, latency whose slow share is, as sure as a rollback needs to be, at most
 * 1 - latencyQuantile (the canary's quantile is at or under the frozen threshold).
 */
export function holdReasons(e: Explanation, g: Guardrails): HoldReason[] {
  const reasons: HoldReason[] = [];
  if (e.elapsedMs < e.minDurationMs) reasons.push("min-duration");
  if (e.canary.requests < e.minRequests) reasons.push("min-requests");
  if (e.srm.mismatch) reasons.push("sample-ratio");
  if (e.weight >= 100) return reasons;
  if (e.errors.status === "no-comparison") reasons.push("no-stable-traffic");
  else if (!e.errors.bounded && !(e.canaryErrorUpperBound <= g.sloErrorRate)) reasons.push("errors-unbounded");
  if (e.latency.status === "calibrating") reasons.push("latency-calibrating");
  else if (e.latency.status === "active" && !e.latency.bounded && !(e.canarySlowUpperBound <= 1 - g.latencyQuantile)) reasons.push("latency-unbounded");
  return reasons;
}
