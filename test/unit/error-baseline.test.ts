import { describe, expect, it } from "vitest";
import { emptyEvidence, type Evidence } from "../../src/core/evidence.js";
import { stableErrorBaseline } from "../../src/core/stats/error-baseline.js";

const bucket = (start: number, requests: number, errors: number): { start: number; evidence: Evidence } => {
  const evidence = emptyEvidence();
  evidence.stable.requests = requests;
  evidence.stable.errors = errors;
  evidence.canary.requests = 7; // never read
  evidence.canary.errors = 7;
  return { start, evidence };
};

describe("stableErrorBaseline", () => {
  it("gives one stable count per bucket start, adding up rows that share a start", () => {
    expect(stableErrorBaseline([bucket(0, 100, 1), bucket(10_000, 50, 2), bucket(10_000, 40, 1), bucket(20_000, 90, 0)])).toEqual([
      { requests: 100, errors: 1 },
      { requests: 90, errors: 3 },
      { requests: 90, errors: 0 },
    ]);
    expect(stableErrorBaseline([])).toEqual([]);
  });
});
