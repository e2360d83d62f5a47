// Burn-rate breaker: the absolute backstop next to the relative tests. It trips when the
// canary burns the SLO's error budget at least `burnRateThreshold` times faster than
// stable does, on both the step window and its last 1/12 (Google SRE's multi-window
// rule, 14.4x over 1 h and 5 min, scaled to the step). The excess is measured between
// confidence bounds (canary lower bound minus stable upper bound, Wilson at z = 3.09),
// not point estimates: a shared incident burns both arms alike and must not trip it, and
// 1 error in 3 requests is not an outage. Bursty errors widen the bounds through the
// same dispersion index as the mSPRT (a design effect: n and errors divided by it). What
// is given up: the breaker is slower than a point-estimate rule on thin traffic, where
// the mSPRT catches outages anyway.
import type { Guardrails } from "./guardrails.js";

/** One-sided 0.1% per bound: the breaker acts on sight, so it must be hard to fool. */
export const BREAKER_Z = 3.09;

export interface BurnCounts {
  canaryRequests: number;
  canaryErrors: number;
  stableRequests: number;
  stableErrors: number;
}

export interface BurnWindow {
  canaryRequests: number;
  canaryErrors: number;
  /** Canary error rate / error budget (point estimate). */
  burn: number;
  stableBurn: number;
  /** (canary lower bound - stable upper bound) / budget, at least 0: what the breaker tests. */
  excessBurn: number;
}

export interface BurnResult {
  window: BurnWindow;
  subWindow: BurnWindow;
  threshold: number;
  minRequests: number;
  trips: boolean;
}

/** Wilson score interval for a proportion; [0, 1] when there are no trials. */
export function wilsonInterval(successes: number, trials: number, z: number): { lower: number; upper: number } {
  if (trials <= 0) return { lower: 0, upper: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

function burnWindow(w: BurnCounts, budget: number, dispersion: number): BurnWindow {
  const canaryLow = wilsonInterval(w.canaryErrors / dispersion, w.canaryRequests / dispersion, BREAKER_Z).lower;
  // No stable traffic (weight 100): the canary is judged on its own burn.
  const stableHigh =
    w.stableRequests > 0 ? wilsonInterval(w.stableErrors / dispersion, w.stableRequests / dispersion, BREAKER_Z).upper : 0;
  return {
    canaryRequests: w.canaryRequests,
    canaryErrors: w.canaryErrors,
    burn: w.canaryRequests > 0 ? w.canaryErrors / w.canaryRequests / budget : 0,
    stableBurn: w.stableRequests > 0 ? w.stableErrors / w.stableRequests / budget : 0,
    excessBurn: Math.max(0, canaryLow - stableHigh) / budget,
  };
}

export function checkBurnRate(
  window: BurnCounts,
  subWindow: BurnCounts,
  g: Pick<Guardrails, "sloErrorRate" | "burnRateThreshold" | "burnMinRequests">,
  dispersion = 1,
): BurnResult {
  const long = burnWindow(window, g.sloErrorRate, dispersion);
  const short = burnWindow(subWindow, g.sloErrorRate, dispersion);
  return {
    window: long,
    subWindow: short,
    threshold: g.burnRateThreshold,
    minRequests: g.burnMinRequests,
    trips:
      short.canaryRequests >= g.burnMinRequests &&
      long.excessBurn >= g.burnRateThreshold &&
      short.excessBurn >= g.burnRateThreshold,
  };
}
