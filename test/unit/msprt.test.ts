import { describe, expect, it } from "vitest";
import {
  addDispersionPair,
  canaryEventProbability,
  dispersionIndex,
  estimateRatio,
  MIXTURE_GRID,
  MIXTURE_WEIGHTS,
  mixtureLogRatio,
  type DispersionSum,
} from "../../src/core/stats/msprt.js";
import { createRandom, poisson } from "../../src/core/stats/prng.js";

describe("canaryEventProbability", () => {
  it.each([
    [0.05, 1, 0.05],
    [0.5, 1, 0.5],
    [0.5, 3, 0.75],
    [0.05, 2, 0.1 / 1.05],
  ])("share %d, ratio %d -> %d", (share, ratio, expected) => {
    expect(canaryEventProbability(share, ratio)).toBeCloseTo(expected, 12);
  });
});

describe("mixtureLogRatio", () => {
  it.each([
    ["no events", 0, 0, 0.05],
    ["share 0", 3, 10, 0],
    ["share 1", 3, 10, 1],
    ["share NaN", 3, 10, Number.NaN],
  ])("is 0 (no evidence) with %s", (_name, canary, stable, share) => {
    expect(mixtureLogRatio(canary, stable, share, 1.1)).toBe(0);
  });

  it.each([0.01, 0.05, 0.25, 0.5, 0.9])("rises with canary events and falls with stable events at share %d", (share) => {
    for (let stable = 0; stable < 60; stable += 7) {
      for (let canary = 0; canary < 30; canary += 3) {
        const here = mixtureLogRatio(canary, stable, share, 1.1);
        expect(mixtureLogRatio(canary + 1, stable, share, 1.1)).toBeGreaterThan(here);
        expect(mixtureLogRatio(canary, stable + 1, share, 1.1)).toBeLessThan(here);
      }
    }
  });

  it("divides the evidence by the dispersion index", () => {
    const raw = mixtureLogRatio(30, 100, 0.05, 1.1);
    const damped = mixtureLogRatio(30, 100, 0.05, 1.1, 3);
    expect(raw).toBeGreaterThan(damped);
    expect(damped).toBeGreaterThan(0);
  });

  it("rejects a blatant regression and bounds a clean canary", () => {
    expect(mixtureLogRatio(40, 95, 0.05, 1.1)).toBeGreaterThan(Math.log(200)); // canary share 30% of errors vs 5%
    expect(mixtureLogRatio(20, 950, 0.05, 1.1)).toBeLessThan(-Math.log(10)); // 2% vs 5%
  });

  it("is the prior-weighted average of the alternatives' likelihood ratios", () => {
    const total = MIXTURE_WEIGHTS.reduce((a, b) => a + b, 0);
    for (const [c, s, share, m0, d] of [
      [12, 150, 0.05, 1, 1],
      [3, 400, 0.05, 1.1, 1],
      [40, 60, 0.3, 1, 2.5],
    ] as const) {
      const theta0 = canaryEventProbability(share, m0);
      let ratio = 0;
      MIXTURE_GRID.forEach((r, j) => {
        const theta1 = canaryEventProbability(share, m0 * r);
        const llr = c * Math.log(theta1 / theta0) + s * Math.log((1 - theta1) / (1 - theta0));
        ratio += (MIXTURE_WEIGHTS[j]! / total) * Math.exp(llr / d);
      });
      expect(mixtureLogRatio(c, s, share, m0, d)).toBeCloseTo(Math.log(ratio), 9);
    }
  });

  it("uses alternatives from 1.25x to 10x the tolerance", () => {
    expect(MIXTURE_GRID[0]).toBe(1.25);
    expect(MIXTURE_GRID.at(-1)).toBe(10);
  });

  // Ville's inequality: at the null's boundary (m = m0) the chance the ratio ever reaches
  // 1/alpha is at most alpha, however often it is looked at. Checked every second.
  it.each([
    [0.05, 5],
    [0.25, 5],
    [0.5, 2],
  ])("keeps false rejections under alpha at share %d with %d events/s, looked at every second", (share, eventsPerSecond) => {
    const alpha = 0.005;
    const tolerance = 1.1;
    const theta = canaryEventProbability(share, tolerance);
    const runs = 2000;
    const random = createRandom(20240601);
    let rejected = 0;
    for (let run = 0; run < runs; run++) {
      let canary = 0;
      let stable = 0;
      for (let t = 0; t < 600; t++) {
        canary += poisson(random, eventsPerSecond * theta);
        stable += poisson(random, eventsPerSecond * (1 - theta));
        if (mixtureLogRatio(canary, stable, share, tolerance) >= Math.log(1 / alpha)) {
          rejected++;
          break;
        }
      }
    }
    // alpha plus three binomial standard errors
    expect(rejected / runs).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));
  });
});

describe("estimateRatio", () => {
  it.each([
    [10, 190, 0.05, 1],
    [20, 190, 0.05, 2],
    [0, 190, 0.05, 0],
    [5, 0, 0.05, null],
    [5, 5, 0, null],
  ])("canary %d, stable %d, share %d -> %s", (canary, stable, share, expected) => {
    const m = estimateRatio(canary, stable, share);
    if (expected === null) expect(m).toBeNull();
    else expect(m).toBeCloseTo(expected, 9);
  });
});

describe("dispersionIndex", () => {
  const index = (events: number[], exposure: number[], floor = 1): number => {
    const acc: DispersionSum = { sum: 0, terms: 0 };
    for (let i = 1; i < events.length; i++) addDispersionPair(acc, events[i - 1]!, exposure[i - 1]!, events[i]!, exposure[i]!);
    return dispersionIndex(acc, floor);
  };
  const random = createRandom(99);
  const exposure = Array.from({ length: 60 }, () => 9500);

  it("is about 1 for independent (Poisson) events", () => {
    const events = exposure.map((n) => poisson(random, n * 0.005));
    expect(index(events, exposure)).toBeLessThan(1.3);
  });

  it("reads bursts of mean size 3 as strong overdispersion", () => {
    const bursty = exposure.map((n) => {
      let x = 0;
      for (let k = poisson(random, (n * 0.005) / 3); k > 0; k--) x += 1 + Math.floor(Math.log(1 - random()) / Math.log(2 / 3));
      return x;
    });
    expect(index(bursty, exposure)).toBeGreaterThan(3);
  });

  it("does not read a slow drift (rate x3 over the step) as dispersion", () => {
    const events = exposure.map((n, i) => poisson(random, n * 0.005 * (1 + (2 * i) / 60)));
    expect(index(events, exposure)).toBeLessThan(1.3);
  });

  it("caps a shared incident's jump", () => {
    const events = exposure.map((n, i) => poisson(random, n * (i >= 20 && i < 30 ? 0.05 : 0.005)));
    expect(index(events, exposure)).toBeLessThan(2.5);
  });

  it("honours the floor and says 1 without data", () => {
    expect(index([], [])).toBe(1);
    expect(index([0, 0, 0], [10, 10, 10], 2.5)).toBe(2.5);
  });
});
