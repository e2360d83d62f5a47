// The decision engine: from one step's evidence in 10 s windows to hold, advance or
// rollback, with every statistic behind the call. Pure: the clock comes in as `now`,
// nothing is random, nothing is fetched. Two layers: `countEvidence` turns sketches into
// counts (requests, errors, latency exceedances per window and arm) and `decideCounts`
// runs the tests on counts, so the simulator can drive the second layer at scale;
// `decide` is the two composed. What it gives up: it sees only aggregates, never users,
// so bursts of correlated errors are handled by a dispersion estimate, not by design.
import type { Evidence } from "../evidence.js";
import { checkBurnRate, wilsonInterval, type BurnCounts } from "./burn-rate.js";
import { countAbove, emptySketch, mergeSketches, quantile, type Sketch } from "./ddsketch.js";
import { describeAdvance, describeHold, describeRollback } from "./decision-reasons.js";
import type { ArmCounts, ArmSummary, CountsInput, Decision, DecisionInput, Explanation, LatencySource, WindowCounts } from "./decision-types.js";
import { holdReasons } from "./hold-reasons.js";
import { addDispersionPair, dispersionIndex, runMsprt, type DispersionSum } from "./msprt.js";
import { checkSampleRatio } from "./srm.js";

export type * from "./decision-types.js";

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
  const { windows, latencyThresholdMs, ...rest } = input;
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
    firstTimed = windows.length;
    for (let i = 0; i < windows.length; i++) {
      calibration = mergeSketches(calibration, windows[i]!.evidence.stable.latency);
      if (calibration.count >= needed) {
        threshold = quantile(calibration, q);
        source = "derived";
        firstTimed = i + 1;
        break;
      }
    }
    if (threshold === null && windows.some((b) => b.evidence.stable.latency.count + b.evidence.canary.latency.count > 0)) {
      source = "calibrating";
    }
  }
  let stableAll = emptySketch();
  let canaryAll = emptySketch();
  const counts = windows.map((b, i) => {
    stableAll = mergeSketches(stableAll, b.evidence.stable.latency);
    canaryAll = mergeSketches(canaryAll, b.evidence.canary.latency);
    const t = i >= firstTimed ? threshold : null;
    return { start: b.start, stable: armCounts(b.evidence.stable, t), canary: armCounts(b.evidence.canary, t) };
  });
  return {
    ...rest,
    windows: counts,
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

const windowCounts = (stable: ArmCounts, canary: ArmCounts): BurnCounts => ({
  canaryRequests: canary.requests,
  canaryErrors: canary.errors,
  stableRequests: stable.requests,
  stableErrors: stable.errors,
});

/** The tests on counts. Rollback beats advance; no canary traffic always holds. */
export function decideCounts(input: CountsInput): Decision {
  const g = input.guardrails;
  const elapsedMs = Math.max(0, input.now - input.stepStartedAt);
  // The short window is the trailing 1/12 of the step, never less than the newest window.
  const subStart = Math.min(input.now - elapsedMs / 12, input.windows.at(-1)?.start ?? input.now);
  const stable = zeroArm();
  const canary = zeroArm();
  const subStable = zeroArm();
  const subCanary = zeroArm();
  const errorSpread: DispersionSum = { sum: 0, terms: 0 };
  const slowSpread: DispersionSum = { sum: 0, terms: 0 };
  // Burst correction over the windows before the step as well (known from the step's
  // first second), and over the step alone (quick to rise when an incident starts; in the
  // long series its jump would be diluted); the larger of the two is used.
  const longSpread: DispersionSum = { sum: 0, terms: 0 };
  const baseline = input.baselineStable ?? [];
  for (let i = 1; i < baseline.length; i++) {
    const p = baseline[i - 1]!;
    const b = baseline[i]!;
    addDispersionPair(longSpread, p.errors, p.requests, b.errors, b.requests);
  }
  let previous: WindowCounts | undefined;
  for (const b of input.windows) {
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
    windows: input.windows.length,
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
