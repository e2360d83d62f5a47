import { describe, expect, it } from "vitest";
import { MetricSchema, type MetricConfig } from "../../src/core/config/schema.js";
import { emptyMoments, type MetricInput, type MomentStats } from "../../src/core/metrics/metric-stats.js";
import { armVariances, csHalfWidth, MIN_METRIC_USERS, testMetric } from "../../src/core/stats/metric-test.js";
import { binomial, createRandom, gamma, normal, poisson, type Random } from "../../src/core/stats/prng.js";

const def = (over: Partial<MetricConfig> & Pick<MetricConfig, "name" | "kind" | "better">): MetricConfig => MetricSchema.parse(over);
const conversion = def({ name: "checkout", kind: "conversion", better: "higher" });
const quality = def({ name: "quality", kind: "mean", better: "higher" });
const jsError = def({ name: "js_error", kind: "rate-per-user", better: "lower" });

/** n users' values into moments. */
function moments(n: number, value: (i: number) => number): MomentStats {
  const m = emptyMoments();
  for (let i = 0; i < n; i++) {
    const v = value(i);
    m.n++;
    m.sum += v;
    m.sumSq += v * v;
  }
  return m;
}

/** One arm's users per kind: conversion Bernoulli(p), mean N(mu, sd), rate NegBin(mean, shape 0.2). */
function arm(random: Random, kind: MetricConfig["kind"], n: number, level: number): MomentStats {
  if (kind === "conversion") {
    const k = binomial(random, n, level);
    return { n, sum: k, sumSq: k };
  }
  if (kind === "mean") return moments(n, () => level + 0.2 * normal(random));
  return moments(n, () => poisson(random, gamma(random, 0.2) * (level / 0.2)));
}

const ALPHA = 0.01 / 12;

describe("testMetric", () => {
  const cases: Array<{ d: MetricConfig; base: number; bad: number; n: number }> = [
    { d: conversion, base: 0.05, bad: 0.04, n: 40_000 },
    { d: quality, base: 0.8, bad: 0.7, n: 2_000 },
    { d: jsError, base: 0.2, bad: 0.3, n: 8_000 },
  ];
  for (const c of cases) {
    it(`${c.d.kind}: catches a clear regression, with the interval beyond the tolerance`, () => {
      const random = createRandom(11);
      const v = testMetric({ def: c.d, stable: arm(random, c.d.kind, c.n, c.base), canary: arm(random, c.d.kind, c.n, c.bad) }, ALPHA);
      expect(v.rejects).toBe(true);
      expect(v.ready).toBe(true);
      expect(v.interval).not.toBeNull();
      if (c.d.better === "higher") expect(v.interval!.high).toBeLessThan(-v.tolerance);
      else expect(v.interval!.low).toBeGreaterThan(v.tolerance);
      expect(v.relativeDifference!).toBeGreaterThanOrEqual(v.interval!.low);
      expect(v.relativeDifference!).toBeLessThanOrEqual(v.interval!.high);
    });

    it(`${c.d.kind}: does not fire on equal arms across 300 seeds, looked at as users arrive`, () => {
      let fired = 0;
      for (let seed = 0; seed < 300; seed++) {
        const random = createRandom(1000 + seed);
        const s = emptyMoments();
        const k = emptyMoments();
        // Ten looks as the arms grow; one rejection at any look counts.
        for (let look = 0; look < 10 && fired === 0; look++) {
          for (const [m, x] of [
            [s, arm(random, c.d.kind, c.n / 10, c.base)],
            [k, arm(random, c.d.kind, c.n / 10, c.base)],
          ] as const) {
            m.n += x.n;
            m.sum += x.sum;
            m.sumSq += x.sumSq;
          }
          if (testMetric({ def: c.d, stable: s, canary: k }, ALPHA).rejects) fired++;
        }
      }
      expect(fired).toBe(0);
    });
  }

  it("small n: no decision below MIN_METRIC_USERS per arm, however bad the canary looks", () => {
    const n = MIN_METRIC_USERS - 1;
    const input: MetricInput = { def: quality, stable: moments(n, () => 1), canary: moments(n, () => 0) };
    const v = testMetric(input, ALPHA);
    expect(v.ready).toBe(false);
    expect(v.rejects).toBe(false);
    // Past the floor the same gap is a regression.
    expect(testMetric({ def: quality, stable: moments(MIN_METRIC_USERS, () => 1), canary: moments(MIN_METRIC_USERS, () => 0) }, ALPHA).rejects).toBe(true);
  });

  it("small n: a conversion with few converted users does not decide", () => {
    // 300 users per arm, 10 stable conversions and none on the canary: too few events (MIN_METRIC_EVENTS).
    const v = testMetric({ def: conversion, stable: moments(300, (i) => (i < 10 ? 1 : 0)), canary: moments(300, () => 0) }, ALPHA);
    expect(v.ready).toBe(false);
    expect(v.rejects).toBe(false);
  });

  it("variance floors: arms of identical values (variance 0) within tolerance never fire", () => {
    for (const d of [quality, jsError]) {
      const v = testMetric({ def: d, stable: moments(5000, () => 1), canary: moments(5000, () => 1) }, ALPHA);
      expect(v.rejects).toBe(false);
      const w = armVariances(d.kind, moments(5000, () => 1), moments(5000, () => 1));
      expect(w.stable).toBeGreaterThan(0);
      expect(w.canary).toBeGreaterThan(0);
    }
    // A rate with no events at all in either arm: no evidence, no interval.
    const z = testMetric({ def: jsError, stable: moments(5000, () => 0), canary: moments(5000, () => 0) }, ALPHA);
    expect(z.rejects).toBe(false);
    expect(z.interval).toBeNull();
  });

  it("a canary better than stable, or worse within the tolerance, does not fire", () => {
    const random = createRandom(5);
    expect(testMetric({ def: conversion, stable: arm(random, "conversion", 200_000, 0.05), canary: arm(random, "conversion", 200_000, 0.06) }, ALPHA).rejects).toBe(false);
    // 2% worse with 5% tolerated, on a huge sample: the interval excludes -5%.
    const v = testMetric({ def: quality, stable: moments(100_000, (i) => 0.8 + (i % 2 ? 0.1 : -0.1)), canary: moments(100_000, (i) => 0.784 + (i % 2 ? 0.1 : -0.1)) }, ALPHA);
    expect(v.rejects).toBe(false);
    expect(v.interval!.low).toBeGreaterThan(-0.05);
  });

  it("inactive: the verdict is computed but never rejects", () => {
    const v = testMetric({ def: quality, stable: moments(5000, () => 1), canary: moments(5000, () => 0.5) }, ALPHA, false);
    expect(v.rejects).toBe(false);
    expect(v.relativeDifference).toBeCloseTo(-0.5, 9);
  });

  it("rejects exactly when the interval lies beyond the tolerance (the test inverted)", () => {
    for (let seed = 0; seed < 200; seed++) {
      const random = createRandom(seed);
      const n = 5000 + Math.floor(random() * 50_000);
      const s = arm(random, "conversion", n, 0.05);
      const c = arm(random, "conversion", n, 0.05 * (0.85 + random() * 0.15));
      const v = testMetric({ def: conversion, stable: s, canary: c }, ALPHA);
      if (!v.interval || Math.abs(v.interval.high + 0.05) < 1e-4) continue;
      expect(v.rejects).toBe(v.interval.high < -0.05);
    }
  });

  it("csHalfWidth: shrinks with the variance, widens at a smaller alpha, is infinite without a scale", () => {
    expect(csHalfWidth(1e-4, 0.01, 0.01)).toBeLessThan(csHalfWidth(1e-3, 0.01, 0.01));
    expect(csHalfWidth(1e-4, 0.01, 0.001)).toBeGreaterThan(csHalfWidth(1e-4, 0.01, 0.01));
    expect(csHalfWidth(1e-4, 0, 0.01)).toBe(Number.POSITIVE_INFINITY);
    // Wider than the fixed-n z-interval at the same alpha: the price of looking every second.
    expect(csHalfWidth(1e-4, 0.01, 0.01)).toBeGreaterThan(2.576 * 1e-2);
  });
});
