// The decision engine: from one step's time-bucketed evidence to hold, advance or
// rollback, with every statistic behind the call. Pure: the clock comes in as `now`,
// nothing is random, nothing is fetched. Two layers: `countEvidence` turns sketches into
// counts (requests, errors, latency exceedances per bucket and arm) and `decideCounts`
// runs the tests on counts, so the simulator can drive the second layer at scale;
// `decide` is the two composed. What it gives up: it sees only aggregates, never users,
// so bursts of correlated errors are handled by a dispersion estimate, not by design.
import type { Evidence } from "../evidence.js";
import { checkBurnRate, wilsonInterval, type BurnResult, type WindowCounts } from "./burn-rate.js";
import { countAbove, emptySketch, mergeSketches, quantile, type Sketch } from "./ddsketch.js";
import type { Guardrails } from "./guardrails.js";
import { addDispersionPair, dispersionIndex, runMsprt, type DispersionSum, type TestSummary } from "./msprt.js";
import { checkSampleRatio, type SrmResult } from "./srm.js";
import { describeAdvance, describeHold, describeRollback } from "./decision-reasons.js";
import { holdReasons } from "./hold-reasons.js";

export type { TestStatus, TestSummary } from "./msprt.js";

export interface DecisionInput {
  /** ms epoch */
  now: number;
  /** ms epoch */
  stepStartedAt: number;
  /**
   * Configured canary weight of this step, percent 0..100. At 100 there is no stable arm
   * to compare with: only the burn-rate breaker guards the step, which advances once the
   * minimums are met.
   */
  weight: number;
  minDurationMs: number;
  /** Canary requests the step needs before it may advance. */
  minRequests: number;
  /** Time buckets since step start, oldest first. */
  buckets: ReadonlyArray<{ start: number; evidence: Evidence }>;
  /**
   * The stable arm's latency quantile frozen at step start. Undefined: the stable arm of
   * the earliest buckets holding 20/(1-q) stable samples calibrates it, and those buckets
   * are left out of the latency test so the threshold never depends on the data it tests.
   */
  latencyThresholdMs?: number;
  /**
   * The stable arm's error counts per time bucket before the step began (oldest first;
   * the coordinator hands out up to 15 minutes). Only the burst correction reads it: how
   * clumpy the stable errors are is known from the first second of the step instead of
   * being learnt from the step's own buckets, during which bursts look like regressions.
   */
  baselineStable?: ReadonlyArray<{ requests: number; errors: number }>;
  guardrails: Guardrails;
}

export type Action = "hold" | "advance" | "rollback";

export interface Decision {
  action: Action;
  reason: string;
  explanation: Explanation;
}

export interface ArmCounts {
  requests: number;
  errors: number;
  /** Requests whose latency was compared with the threshold. */
  timed: number;
  /** Timed requests slower than the threshold. */
  slow: number;
}

export interface BucketCounts {
  start: number;
  stable: ArmCounts;
  canary: ArmCounts;
}

/** Where the latency threshold came from; calibrating/off mean there is none yet. */
export type LatencySource = "frozen" | "derived" | "calibrating" | "off";

export interface CountsInput extends Omit<DecisionInput, "buckets" | "latencyThresholdMs"> {
  buckets: readonly BucketCounts[];
  latencyThresholdMs: number | null;
  latencySource: LatencySource;
  /** Each arm's latency quantile over the step, for the explanation only. */
  latencyQuantilesMs?: { stable: number | null; canary: number | null };
}

export interface ArmSummary extends ArmCounts {
  errorRate: number;
  slowRate: number;
  latencyQuantileMs: number | null;
}

export interface Explanation {
  elapsedMs: number;
  minDurationMs: number;
  minRequests: number;
  minimumsMet: boolean;
  weight: number;
  buckets: number;
  latencyQuantile: number;
  latencyThresholdMs: number | null;
  latencySource: LatencySource;
  stable: ArmSummary;
  canary: ArmSummary;
  errors: TestSummary;
  latency: TestSummary;
  /** Canary error-rate upper bound at likelihood 1/advanceFactor: the absolute route to "bounded". */
  canaryErrorUpperBound: number;
  /**
   * Canary exceedance-rate upper bound over the latency threshold, as sure as a latency
   * rollback needs to be (likelihood alpha): latency's absolute route to "bounded", taken
   * at or below 1 - latencyQuantile, i.e. the canary's quantile is under the threshold.
   * It lets a step advance when both arms run faster than the frozen threshold (the
   * stable origin sped up after the freeze), where exceedances are too rare for the
   * relative test ever to bound the ratio. Stricter than the error route's bound: with a
   * looser one, +10% p99 regressions advanced first more often in the simulator.
   */
  canarySlowUpperBound: number;
  burn: BurnResult & { windowMs: number; subWindowMs: number };
  srm: SrmResult;
  /** Why the step does not advance; empty on advance. */
  blockers: string[];
}

/** Expected exceedances in the calibration sample: enough for a stable quantile. */
export const CALIBRATION_EXCEEDANCES = 20;

function armCounts(arm: Evidence["stable"], threshold: number | null): ArmCounts {
  return {
    requests: arm.requests,
    errors: arm.errors,
    timed: threshold === null ? 0 : arm.latency.count,
    slow: threshold === null ? 0 : countAbove(arm.latency, threshold),
  };
}

/** Sketches to counts, fixing the latency threshold (see DecisionInput.latencyThresholdMs). */
export function countEvidence(input: DecisionInput): CountsInput {
  const { buckets, latencyThresholdMs, ...rest } = input;
  const q = input.guardrails.latencyQuantile;
  let threshold: number | null = null;
  let source: LatencySource = "off";
  let firstTimed = 0;
  if (latencyThresholdMs !== undefined && Number.isFinite(latencyThresholdMs) && latencyThresholdMs > 0) {
    threshold = latencyThresholdMs;
    source = "frozen";
  } else {
    const needed = Math.ceil(CALIBRATION_EXCEEDANCES / (1 - q));
    let calibration: Sketch = emptySketch();
    firstTimed = buckets.length;
    for (let i = 0; i < buckets.length; i++) {
      calibration = mergeSketches(calibration, buckets[i]!.evidence.stable.latency);
      if (calibration.count >= needed) {
        threshold = quantile(calibration, q);
        source = "derived";
        firstTimed = i + 1;
        break;
      }
    }
    if (threshold === null && buckets.some((b) => b.evidence.stable.latency.count + b.evidence.canary.latency.count > 0)) {
      source = "calibrating";
    }
  }
  let stableAll = emptySketch();
  let canaryAll = emptySketch();
  const counts = buckets.map((b, i) => {
    stableAll = mergeSketches(stableAll, b.evidence.stable.latency);
    canaryAll = mergeSketches(canaryAll, b.evidence.canary.latency);
    const t = i >= firstTimed ? threshold : null;
    return { start: b.start, stable: armCounts(b.evidence.stable, t), canary: armCounts(b.evidence.canary, t) };
  });
  return {
    ...rest,
    buckets: counts,
    latencyThresholdMs: threshold,
    latencySource: source,
    latencyQuantilesMs: {
      stable: stableAll.count > 0 ? quantile(stableAll, q) : null,
      canary: canaryAll.count > 0 ? quantile(canaryAll, q) : null,
    },
  };
}

const zeroArm = (): ArmCounts => ({ requests: 0, errors: 0, timed: 0, slow: 0 });

function add(into: ArmCounts, from: ArmCounts): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.timed += from.timed;
  into.slow += from.slow;
}

function summary(arm: ArmCounts, latencyQuantileMs: number | null | undefined): ArmSummary {
  return {
    requests: arm.requests,
    errors: arm.errors,
    timed: arm.timed,
    slow: arm.slow,
    errorRate: arm.requests > 0 ? arm.errors / arm.requests : 0,
    slowRate: arm.timed > 0 ? arm.slow / arm.timed : 0,
    latencyQuantileMs: latencyQuantileMs ?? null,
  };
}

const windowCounts = (stable: ArmCounts, canary: ArmCounts): WindowCounts => ({
  canaryRequests: canary.requests,
  canaryErrors: canary.errors,
  stableRequests: stable.requests,
  stableErrors: stable.errors,
});

/** The tests on counts. Rollback beats advance; no canary traffic always holds. */
export function decideCounts(input: CountsInput): Decision {
  const g = input.guardrails;
  const elapsedMs = Math.max(0, input.now - input.stepStartedAt);
  // The short window is the trailing 1/12 of the step, never less than the newest bucket.
  const subStart = Math.min(input.now - elapsedMs / 12, input.buckets.at(-1)?.start ?? input.now);
  const stable = zeroArm();
  const canary = zeroArm();
  const subStable = zeroArm();
  const subCanary = zeroArm();
  const errorSpread: DispersionSum = { sum: 0, terms: 0 };
  const slowSpread: DispersionSum = { sum: 0, terms: 0 };
  // Burst correction over the buckets before the step as well (known from the step's
  // first second), and over the step alone (quick to rise when an incident starts; in the
  // long series its jump would be diluted); the larger of the two is used.
  const longSpread: DispersionSum = { sum: 0, terms: 0 };
  const baseline = input.baselineStable ?? [];
  for (let i = 1; i < baseline.length; i++) {
    const p = baseline[i - 1]!;
    const b = baseline[i]!;
    addDispersionPair(longSpread, p.errors, p.requests, b.errors, b.requests);
  }
  let previous: BucketCounts | undefined;
  for (const b of input.buckets) {
    add(stable, b.stable);
    add(canary, b.canary);
    if (b.start >= subStart) {
      add(subStable, b.stable);
      add(subCanary, b.canary);
    }
    if (previous) {
      const p = previous.stable;
      addDispersionPair(errorSpread, p.errors, p.requests, b.stable.errors, b.stable.requests);
      addDispersionPair(longSpread, p.errors, p.requests, b.stable.errors, b.stable.requests);
      addDispersionPair(slowSpread, p.slow, p.timed, b.stable.slow, b.stable.timed);
    }
    previous = b;
  }

  const comparable = input.weight < 100 && stable.requests > 0 && canary.requests > 0;
  const latencyUsable = input.latencySource === "frozen" || input.latencySource === "derived";
  const errorAlpha = g.alpha * g.errorAlphaShare;
  const latencyAlpha = g.alpha - errorAlpha;
  const errors = runMsprt({
    status: comparable ? "active" : "no-comparison",
    canaryEvents: canary.errors,
    stableEvents: stable.errors,
    canaryExposure: canary.requests,
    stableExposure: stable.requests,
    tolerance: g.errorRatioTolerance,
    dispersion: Math.max(dispersionIndex(errorSpread, g.minDispersion), dispersionIndex(longSpread, g.minDispersion)),
    alpha: errorAlpha,
    advanceFactor: g.advanceFactor,
  });
  const latency = runMsprt({
    status: !latencyUsable ? (input.latencySource as "calibrating" | "off") : comparable ? "active" : "no-comparison",
    canaryEvents: canary.slow,
    stableEvents: stable.slow,
    canaryExposure: canary.timed,
    stableExposure: stable.timed,
    tolerance: g.latencyRatioTolerance,
    dispersion: dispersionIndex(slowSpread, g.minDispersion),
    alpha: latencyAlpha,
    advanceFactor: g.advanceFactor,
  });
  const breaker = checkBurnRate(windowCounts(stable, canary), windowCounts(subStable, subCanary), g, errors.dispersion);
  const burn = {
    window: breaker.window,
    subWindow: breaker.subWindow,
    threshold: breaker.threshold,
    minRequests: breaker.minRequests,
    trips: breaker.trips,
    windowMs: elapsedMs,
    subWindowMs: Math.max(0, input.now - subStart),
  };
  const srm = checkSampleRatio(canary.requests, stable.requests, input.weight, g.srmAlpha, g.srmTolerance);
  const z = Math.sqrt(2 * Math.log(g.advanceFactor)); // the bound where the likelihood falls to 1/advanceFactor
  const canaryErrorUpperBound = wilsonInterval(canary.errors / errors.dispersion, canary.requests / errors.dispersion, z).upper;
  const canarySlowUpperBound = wilsonInterval(canary.slow / latency.dispersion, canary.timed / latency.dispersion, Math.sqrt(2 * latency.rejectAt)).upper;
  const minimumsMet = elapsedMs >= input.minDurationMs && canary.requests >= input.minRequests;

  const explanation: Explanation = {
    elapsedMs,
    minDurationMs: input.minDurationMs,
    minRequests: input.minRequests,
    minimumsMet,
    weight: input.weight,
    buckets: input.buckets.length,
    latencyQuantile: g.latencyQuantile,
    latencyThresholdMs: input.latencyThresholdMs,
    latencySource: input.latencySource,
    stable: summary(stable, input.latencyQuantilesMs?.stable),
    canary: summary(canary, input.latencyQuantilesMs?.canary),
    errors,
    latency,
    canaryErrorUpperBound,
    canarySlowUpperBound,
    burn,
    srm,
    blockers: [],
  };

  if (canary.requests === 0) {
    explanation.blockers.push(input.weight > 0 ? "no canary traffic yet" : "weight 0: the canary gets no traffic");
    return { action: "hold", reason: `no data: ${explanation.blockers[0]}`, explanation };
  }
  if (errors.rejects || latency.rejects || burn.trips) {
    explanation.blockers.push("rolling back");
    return { action: "rollback", reason: describeRollback(explanation), explanation };
  }
  const blockers = describeHold(explanation, holdReasons(explanation, g));
  explanation.blockers = blockers;
  if (blockers.length > 0) return { action: "hold", reason: `hold: ${blockers.join("; ")}`, explanation };
  return { action: "advance", reason: describeAdvance(explanation), explanation };
}

// Formatting runs on every evaluation (and millions of times in the simulator), so it
// rounds with Math.round and String rather than toFixed/toPrecision.
/** Both layers composed: what the coordinator calls. */
export function decide(input: DecisionInput): Decision {
  return decideCounts(countEvidence(input));
}
