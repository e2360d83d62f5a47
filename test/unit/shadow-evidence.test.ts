// The shadow evidence's latency signs (src/core/shadow/shadow-evidence.ts): counted only on
// reference pairs (a stable request sent with the mirror), the canary's time divided by
// shadow.latencyTolerance; and the merge of windows stored before reference pairs existed.
import { describe, expect, it } from "vitest";
import { emptyShadow, mergeShadow, recordShadowOutcome, type ShadowEvidence } from "../../src/core/shadow/shadow-evidence.js";
import type { ShadowOutcome } from "../../src/core/shadow/shadow-outcome.js";

function outcome(canaryMs: number, stableMs: number, reference?: { status: number; ms: number }, over: Partial<ShadowOutcome> = {}): ShadowOutcome {
  return {
    routeId: "r",
    release: "r1",
    method: "GET",
    path: "/a",
    kind: "match",
    stableStatus: 200,
    canaryStatus: 200,
    stableMs,
    canaryMs,
    ...(reference ? { reference } : {}),
    colo: "AMS",
    country: "NL",
    ...over,
  };
}

const signs = (e: ShadowEvidence) => [e.referencePairs, e.refCanarySlower, e.refStableSlower, e.refCanarySlowerMid, e.refStableSlowerMid];

describe("recordShadowOutcome", () => {
  it.each([
    // canary ms, reference ms, tolerance, [pairs, canary tail, stable tail, canary mid, stable mid]
    ["equal times: a tie on both margins", 100, 100, 1, [1, 0, 0, 0, 0]],
    ["canary 1.2x, tolerance 1: slower at the median margin only", 120, 100, 1, [1, 0, 0, 1, 0]],
    ["canary 1.1x, tolerance 1.1: not slower", 110, 100, 1.1, [1, 0, 0, 0, 0]],
    ["canary 1.2x, tolerance 1.1: slower (1.09x > 1.05x + 2 ms)", 120, 100, 1.1, [1, 0, 0, 1, 0]],
    ["canary 2x, tolerance 1.1: much slower (1.82x)", 200, 100, 1.1, [1, 1, 0, 1, 0]],
    ["canary 1.6x, tolerance 1.1: slower but not much (1.45x)", 160, 100, 1.1, [1, 0, 0, 1, 0]],
    ["stable reference 2x the canary: stable slower", 100, 200, 1.1, [1, 0, 1, 0, 1]],
    ["canary 1.04x of 1000 ms, tolerance 1: within the median margin", 1040, 1000, 1, [1, 0, 0, 0, 0]],
    ["3 ms vs 1 ms: within the 2 ms floor", 3, 1, 1, [1, 0, 0, 0, 0]],
    ["a tolerance below 1 is read as 1", 104, 100, 0.5, [1, 0, 0, 0, 0]],
  ] as const)("%s", (_name, c, s, tolerance, want) => {
    const e = emptyShadow();
    recordShadowOutcome(e, outcome(c, 5, { status: 200, ms: s }), false, false, () => 1, tolerance);
    expect(signs(e)).toEqual(want);
  });

  it("times only reference pairs: the user's stable time, however much faster, adds no sign", () => {
    const e = emptyShadow();
    for (let i = 0; i < 10; i++) recordShadowOutcome(e, outcome(300, 10), false, false, () => i, 1);
    expect(signs(e)).toEqual([0, 0, 0, 0, 0]);
    // The same canary time with a simultaneous reference as slow: a tie.
    recordShadowOutcome(e, outcome(300, 10, { status: 200, ms: 300 }), false, false, () => 1, 1);
    expect(signs(e)).toEqual([1, 0, 0, 0, 0]);
    // Both sketches still see every mirror (display).
    expect(e.canaryLatency.count).toBe(11);
    expect(e.stableLatency.count).toBe(11);
    expect(e.match).toBe(11);
  });

  it("pairs no reference that failed, and no canary that timed out or had no connection", () => {
    const e = emptyShadow();
    recordShadowOutcome(e, outcome(100, 10, { status: 0, ms: 2000 }), false, false, () => 1, 1);
    recordShadowOutcome(e, outcome(0, 10, { status: 200, ms: 10 }, { kind: "canary_timeout", canaryStatus: 0 }), false, true, () => 2, 1);
    recordShadowOutcome(e, outcome(0, 10, { status: 200, ms: 10 }, { kind: "canary_error", canaryStatus: 0 }), false, true, () => 3, 1);
    expect(e.referencePairs).toBe(0);
    // Errors are still counted against the user's stable answer.
    expect(e.canaryOnly).toBe(2);
  });

  it("defaults to the config's tolerance 1.1", () => {
    const e = emptyShadow();
    recordShadowOutcome(e, outcome(108, 5, { status: 200, ms: 100 }), false, false, () => 1);
    expect(e.refCanarySlowerMid).toBe(0);
    recordShadowOutcome(e, outcome(120, 5, { status: 200, ms: 100 }), false, false, () => 1);
    expect(e.refCanarySlowerMid).toBe(1);
  });
});

describe("mergeShadow", () => {
  it("reads a window stored before reference pairs as none, and ignores its old non-simultaneous signs", () => {
    const fresh = emptyShadow();
    recordShadowOutcome(fresh, outcome(200, 5, { status: 200, ms: 100 }), false, false, () => 1, 1);
    const { referencePairs: _a, refCanarySlower: _b, refStableSlower: _c, refCanarySlowerMid: _d, refStableSlowerMid: _e, ...rest } = emptyShadow();
    const old = { ...rest, match: 7, pairs: 7, canarySlower: 7, stableSlower: 0, canarySlowerMid: 7, stableSlowerMid: 0 } as ShadowEvidence;
    for (const m of [mergeShadow(old, fresh), mergeShadow(fresh, old)]) {
      expect(signs(m)).toEqual([1, 1, 0, 1, 0]);
      expect(m.match).toBe(8);
      expect(m).not.toHaveProperty("pairs");
    }
  });

  it("is a monoid on the reference fields: emptyShadow is the identity, merge associative", () => {
    const a = emptyShadow();
    const b = emptyShadow();
    const c = emptyShadow();
    recordShadowOutcome(a, outcome(200, 5, { status: 200, ms: 100 }), false, false, () => 1, 1);
    recordShadowOutcome(b, outcome(100, 5, { status: 200, ms: 200 }), false, false, () => 2, 1);
    recordShadowOutcome(c, outcome(120, 5, { status: 200, ms: 100 }), false, false, () => 3, 1);
    expect(signs(mergeShadow(emptyShadow(), a))).toEqual(signs(a));
    expect(signs(mergeShadow(mergeShadow(a, b), c))).toEqual(signs(mergeShadow(a, mergeShadow(b, c))));
    expect(signs(mergeShadow(mergeShadow(a, b), c))).toEqual([3, 1, 1, 2, 1]);
  });
});
