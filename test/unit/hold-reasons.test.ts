// The advance gate as data: which reasons hold a step, independent of their wording.
import { describe, expect, it } from "vitest";
import { decideCounts, type ArmCounts, type WindowCounts, type CountsInput } from "../../src/core/stats/decision-engine.js";
import { describeHold } from "../../src/core/stats/decision-reasons.js";
import { holdReasons, type HoldReason } from "../../src/core/stats/hold-reasons.js";
import { arm, countsInput, defaultGuardrails } from "./counts-input.js";

const g = defaultGuardrails;

/** Six 10 s windows of the given per-bucket counts, the clock at the end of the last. */
const explain = (stable: ArmCounts, canary: ArmCounts, over: Partial<CountsInput> = {}) =>
  decideCounts(countsInput(Array.from({ length: 6 }, (_, i): WindowCounts => ({ start: i * 10_000, stable, canary })), over));

describe("holdReasons", () => {
  it("is empty exactly when the engine advances", () => {
    const d = explain(arm(9500, 50, 95), arm(500, 2, 5));
    expect(d.action).toBe("advance");
    expect(holdReasons(d.explanation, g)).toEqual([]);
  });

  it("lists the minimums, the split and the tests in a fixed order", () => {
    // Too short, too few canary requests, a canary share 3x the weight, latency calibrating.
    const d = explain(arm(300, 0, 3), arm(30, 0, 0), { minDurationMs: 120_000, latencySource: "calibrating", latencyThresholdMs: null });
    const reasons = holdReasons(d.explanation, g);
    expect(reasons).toEqual<HoldReason[]>(["min-duration", "min-requests", "sample-ratio", "errors-unbounded", "latency-calibrating"]);
    expect(d.action).toBe("hold");
  });

  it("holds on no stable traffic below weight 100, and only on minimums and split at weight 100", () => {
    const noStable = explain(arm(0), arm(500), { weight: 50 });
    expect(holdReasons(noStable.explanation, g)).toEqual<HoldReason[]>(["sample-ratio", "no-stable-traffic"]);
    const full = explain(arm(0), arm(10, 0, 0), { weight: 100 });
    expect(holdReasons(full.explanation, g)).toEqual<HoldReason[]>(["min-requests"]);
  });

  it("passes latency by its absolute route when neither arm crosses a stale threshold", () => {
    // Both arms faster than the frozen threshold: the ratio is never bounded, the quantile is.
    const d = explain(arm(9500, 50, 0), arm(500, 2, 0));
    expect(d.explanation.latency.bounded).toBe(false);
    expect(holdReasons(d.explanation, g)).toEqual([]);
    expect(d.action).toBe("advance");
  });

  it("gives every reason its own words (the reasons module decides nothing)", () => {
    const all: HoldReason[] = ["min-duration", "min-requests", "sample-ratio", "no-stable-traffic", "errors-unbounded", "latency-calibrating", "latency-unbounded"];
    const words = describeHold(explain(arm(9500), arm(500)).explanation, all);
    expect(words).toHaveLength(all.length);
    expect(new Set(words).size).toBe(all.length);
    expect(words[4]).toMatch(/^errors not yet bounded/);
  });
});
