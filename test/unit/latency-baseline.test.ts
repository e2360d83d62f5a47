import { describe, expect, it } from "vitest";
import { emptyEvidence, recordOutcome } from "../../src/core/evidence.js";
import { frozenLatencyThreshold } from "../../src/core/stats/latency-baseline.js";

function bucketWith(stableLatencies: number[], canaryLatencies: number[] = []) {
  const evidence = emptyEvidence();
  for (const ms of stableLatencies) recordOutcome(evidence, "stable", false, ms);
  for (const ms of canaryLatencies) recordOutcome(evidence, "canary", false, ms);
  return { evidence };
}

describe("frozenLatencyThreshold", () => {
  it("is undefined until the stable arm holds 20/(1-q) samples", () => {
    const few = Array.from({ length: 1999 }, (_, i) => i + 1);
    expect(frozenLatencyThreshold([bucketWith(few)], 0.99)).toBeUndefined();
    expect(frozenLatencyThreshold([bucketWith([...few, 2000])], 0.99)).toBeGreaterThan(0);
    expect(frozenLatencyThreshold([], 0.99)).toBeUndefined();
  });

  it("is the stable quantile over all windows, within the sketch's 1% error, ignoring the canary", () => {
    const a = bucketWith(Array.from({ length: 1000 }, (_, i) => i + 1), Array.from({ length: 1000 }, () => 50_000));
    const b = bucketWith(Array.from({ length: 1000 }, (_, i) => i + 1001));
    const p95 = frozenLatencyThreshold([a, b], 0.95)!;
    expect(Math.abs(p95 - 1900) / 1900).toBeLessThan(0.02);
  });
});
