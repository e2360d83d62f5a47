// The stable arm's latency quantile frozen at a step's start, from stable evidence
// recorded before the step began (the previous step, or the previous release's
// traffic to the same stable origin). Freezing it from earlier data lets the latency
// test use every window of the step instead of spending the first ones calibrating.
// Given up: a stable origin whose latency shifts right at the step boundary is
// compared against the older baseline until the next step.
import type { Evidence } from "../evidence.js";
import { emptySketch, mergeSketches, quantile } from "./ddsketch.js";
import { CALIBRATION_EXCEEDANCES } from "./decision-engine.js";

/** Quantile q of the stable arm over `windows`, or undefined with too few samples for it. */
export function frozenLatencyThreshold(windows: ReadonlyArray<{ evidence: Evidence }>, q: number): number | undefined {
  let sketch = emptySketch();
  for (const b of windows) sketch = mergeSketches(sketch, b.evidence.stable.latency);
  const needed = CALIBRATION_EXCEEDANCES / (1 - q);
  if (sketch.count < needed) return undefined;
  const value = quantile(sketch, q);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
