import { describe, expect, it } from "vitest";
import {
  addValue,
  binUpperBound,
  countAbove,
  emptySketch,
  MAX_BINS,
  mergeSketches,
  quantile,
  RELATIVE_ACCURACY,
  type Sketch,
} from "../../src/core/stats/ddsketch.js";
import { createRandom, gamma, normal, type Random } from "../../src/core/stats/prng.js";

const sketchOf = (values: number[]): Sketch => {
  const s = emptySketch();
  for (const v of values) addValue(s, v);
  return s;
};

const distributions: Array<[string, (r: Random) => number]> = [
  ["uniform 1..1000 ms", (r) => 1 + 999 * r()],
  ["exponential, mean 80 ms", (r) => -80 * Math.log(1 - r())],
  ["lognormal, median 60 ms, sigma 0.7", (r) => Math.exp(Math.log(60) + 0.7 * normal(r))],
  ["pareto tail, alpha 1.2", (r) => 10 / Math.pow(1 - r(), 1 / 1.2)],
  ["gamma(0.5) spanning decades", (r) => 0.001 + 100 * gamma(r, 0.5)],
];

describe("quantile", () => {
  it.each(distributions)("is within 1 percent relative error on %s", (_name, draw) => {
    const r = createRandom(42);
    const values = Array.from({ length: 20_000 }, () => draw(r));
    const s = sketchOf(values);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0, 0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      expect(Math.abs(quantile(s, q) - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
    }
  });

  it("is NaN on an empty sketch and 0 for zeros", () => {
    expect(quantile(emptySketch(), 0.5)).toBeNaN();
    expect(quantile(sketchOf([0, 0, 0, 5]), 0.5)).toBe(0);
  });

  it("reads NaN and negative latencies as 0 and never stores Infinity", () => {
    const s = sketchOf([Number.NaN, -3, Number.POSITIVE_INFINITY]);
    expect(s.zeroCount).toBe(2);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe("mergeSketches", () => {
  const r = createRandom(7);
  const parts = [0, 1, 2].map((i) => Array.from({ length: 3000 }, () => Math.exp(2 + i + normal(r)) * (r() < 0.05 ? 0 : 1)));
  const [a, b, c] = parts.map(sketchOf) as [Sketch, Sketch, Sketch];
  const sameBut = (x: Sketch, y: Sketch): void => {
    expect({ ...x, sum: 0 }).toEqual({ ...y, sum: 0 });
    expect(x.sum).toBeCloseTo(y.sum, 6);
  };

  it("is commutative", () => sameBut(mergeSketches(a, b), mergeSketches(b, a)));
  it("is associative", () => sameBut(mergeSketches(mergeSketches(a, b), c), mergeSketches(a, mergeSketches(b, c))));
  it("equals the sketch of all the values", () => sameBut(mergeSketches(mergeSketches(a, b), c), sketchOf(parts.flat())));
  it("has the empty sketch as identity and does not alias inputs", () => {
    const m = mergeSketches(emptySketch(), a);
    sameBut(m, a);
    m.bins["1"] = 999;
    expect(a.bins["1"]).not.toBe(999);
  });
  it("does not mutate its inputs", () => {
    const before = JSON.stringify(a);
    mergeSketches(a, b);
    expect(JSON.stringify(a)).toBe(before);
  });
});

describe("addValue", () => {
  it("keeps the number of bins bounded across 14 decades", () => {
    const s = emptySketch();
    const n = 14_000;
    for (let i = 0; i <= n; i++) addValue(s, 10 ** (-5 + i / 1000));
    expect(Object.keys(s.bins).length).toBeLessThanOrEqual(MAX_BINS);
    expect(s.count).toBe(n + 1);
    // the high end, which latency rules read, keeps its accuracy
    const exact = 10 ** (-5 + Math.floor(0.99 * n) / 1000);
    expect(Math.abs(quantile(s, 0.99) - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY);
  });

  it("stays bounded and associative when merging sketches that fold", () => {
    const low = sketchOf(Array.from({ length: 500 }, (_, i) => 10 ** (-5 + i / 100)));
    const high = sketchOf([1e9]);
    const mid = sketchOf([1, 10, 100]);
    const left = mergeSketches(mergeSketches(low, mid), high);
    const right = mergeSketches(low, mergeSketches(mid, high));
    expect(left.bins).toEqual(right.bins);
    expect(Object.keys(left.bins).length).toBeLessThanOrEqual(MAX_BINS);
  });
});

describe("countAbove", () => {
  const values = [1, 2, 3, 10, 100, 101, 500, 1000];
  const s = sketchOf(values);
  it.each([
    [0, 8],
    [5, 5],
    [95, 4],
    [200, 2],
    [1000, 0],
    [5000, 0],
  ])("counts values above %d ms: %d", (threshold, expected) => {
    expect(countAbove(s, threshold)).toBe(expected);
  });

  it("counts exactly the values above the threshold's bin edge", () => {
    const r = createRandom(3);
    const vals = Array.from({ length: 5000 }, () => Math.exp(4 + normal(r)));
    const sk = sketchOf(vals);
    for (const t of [20, 55.5, 300, 1234]) {
      expect(countAbove(sk, t)).toBe(vals.filter((v) => v > binUpperBound(t) * (1 + 1e-12)).length);
      expect(binUpperBound(t) / t).toBeLessThan(1 + 2 * RELATIVE_ACCURACY + 1e-3);
    }
  });
});
