import { describe, expect, it } from "vitest";
import { MetricSchema, type MetricConfig } from "../../src/core/config/schema.js";
import type { MetricInput, MomentStats } from "../../src/core/metrics/metric-stats.js";
import { GuardrailsSchema, type Guardrails, type GuardrailsInput } from "../../src/core/stats/guardrails.js";
import { binomial, createRandom, poisson, type Random } from "../../src/core/stats/prng.js";
import {
  closeWindow,
  createEngineState,
  decideRollout,
  METRIC_ALPHA_SHARE,
  rolloutAlphas,
  type ArmWindow,
  type RolloutDecision,
  type RolloutInput,
  type RolloutWindow,
} from "../../src/core/stats/rollout-engine.js";

const guard = (over: GuardrailsInput = {}): Guardrails => GuardrailsSchema.parse(over);
const def = (over: Partial<MetricConfig> & Pick<MetricConfig, "name" | "kind" | "better">): MetricConfig => MetricSchema.parse(over);
const checkout = def({ name: "checkout", kind: "conversion", better: "higher" });
const quality = def({ name: "quality", kind: "mean", better: "higher", maxRelativeDrop: 0.02 });
const jsError = def({ name: "js_error", kind: "rate-per-user", better: "lower", maxRelativeIncrease: 0.1 });
const conv = (n: number, k: number): MomentStats => ({ n, sum: k, sumSq: k });
const armOf = (): ArmWindow => ({ requests: 0, errors: 0, failedUsers: 0, timed: 0, slow: 0, timedMid: 0, slowMid: 0 });

/** A healthy open window (no test leans either way) at the weight. */
function healthyWindow(random: Random, weight: number, seconds = 10): RolloutWindow {
  const w: RolloutWindow = { start: 0, step: 0, weight, stable: armOf(), canary: armOf() };
  for (const [a, share] of [
    [w.stable, 1 - weight / 100],
    [w.canary, weight / 100],
  ] as const) {
    const n = poisson(random, 1000 * share * seconds);
    a.requests = n;
    a.errors = a.failedUsers = binomial(random, n, 0.005);
    a.timed = a.timedMid = n;
    a.slow = binomial(random, n, 0.01);
    a.slowMid = binomial(random, n, 0.5);
  }
  return w;
}

function decide(g: Guardrails, metrics: readonly MetricInput[] | undefined, over: Partial<RolloutInput> = {}): RolloutDecision {
  const open = { ...healthyWindow(createRandom(3), over.weight ?? 5), step: over.stepIndex ?? 0 };
  const input: RolloutInput = { now: 10_000, stepStartedAt: 0, stepIndex: 0, weight: 5, minDurationMs: 60_000, minRequests: 200, open, latencySource: "history", guardrails: g, state: createEngineState(g), ...over };
  return decideRollout(metrics === undefined ? input : { ...input, metrics });
}

/** The conversion of the example: 2.61% of canary users against 3.02% of stable users. */
const regressed: MetricInput = { def: checkout, stable: conv(200_000, 6040), canary: conv(200_000, 5220) };
const equal: MetricInput = { def: checkout, stable: conv(200_000, 6040), canary: conv(200_000, 6030) };

describe("rolloutAlphas", () => {
  it("sums to guardrails.alpha for every plan shape", () => {
    for (const alpha of [0.01, 0.05]) {
      const g = guard({ alpha });
      for (const shadowPlan of [false, true])
        for (const medianOn of [false, true])
          for (const rings of [0, 1, 3])
            for (const guardrailMetrics of [0, 1, 3, 16]) {
              const a = rolloutAlphas(g, { shadowPlan, medianOn, rings, guardrailMetrics });
              const ringSum = rings * (a.ringEach.errors + a.ringEach.latency + (medianOn ? a.ringEach.median : 0));
              const sum = a.errors + a.mismatch + a.latency + (medianOn ? a.median : 0) + ringSum + guardrailMetrics * a.metricEach;
              expect(sum).toBeCloseTo(alpha, 14);
              expect(a.metricEach * guardrailMetrics).toBeCloseTo(guardrailMetrics > 0 ? alpha * METRIC_ALPHA_SHARE : 0, 15);
            }
    }
  });

  it("without guardrail metrics: the split of before (errors 0.008, tail 0.001, median 0.001)", () => {
    const a = rolloutAlphas(guard(), { medianOn: true, rings: 0, guardrailMetrics: 0 });
    expect([a.errors, a.latency, a.median, a.metricEach]).toEqual([0.01 * 0.8, (0.01 - 0.01 * 0.8) * 0.5, (0.01 - 0.01 * 0.8) * 0.5, 0]);
  });
});

describe("decideRollout with metrics", () => {
  it("a plan without metrics decides exactly as before (no metrics field, or an empty list)", () => {
    const g = guard();
    // The same traffic through a whole rollout, with and without an empty metrics list.
    const runOnce = (metrics: readonly MetricInput[] | undefined): RolloutDecision[] => {
      const random = createRandom(9);
      const state = createEngineState(g);
      const out: RolloutDecision[] = [];
      let step = 0;
      let started = 0;
      const weights = [5, 25, 100];
      for (let w = 0; w < 40; w++) {
        const open = { ...healthyWindow(random, weights[step]!), start: w * 10_000, step };
        const input: RolloutInput = { now: (w + 1) * 10_000, stepStartedAt: started, stepIndex: step, weight: weights[step]!, minDurationMs: 60_000, minRequests: 200, open, latencySource: "history", guardrails: g, state };
        const d = decideRollout(metrics === undefined ? input : { ...input, metrics });
        out.push(d);
        closeWindow(state, open, g);
        if (d.action === "advance" && step < weights.length - 1) {
          step++;
          started = (w + 1) * 10_000;
        }
      }
      return out;
    };
    const before = runOnce(undefined);
    expect(runOnce([])).toEqual(before);
    expect(before.some((d) => d.action === "advance")).toBe(true);
    expect(before.every((d) => d.explanation.metrics === undefined && d.explanation.metricsNote === undefined)).toBe(true);
  });

  it("a guardrail that rejects fails the rollout with onFail, the reason naming the metric, its difference and interval", () => {
    const d = decide(guard({ onFail: "pause" }), [regressed]);
    expect(d.action).toBe("fail");
    expect(d.onFail).toBe("pause");
    expect(d.reason).toMatch(/^pause: metric checkout: canary 2\.61% vs stable 3\.02% of users converted \(-13\.6%, interval -\d+% to -\d+%\), worse than the tolerated -5%$/);
    const v = d.explanation.metrics![0]!;
    expect(v.rejects).toBe(true);
    expect(v.interval!.high).toBeLessThan(-0.05);
    expect(v.alpha).toBeCloseTo(0.01 * METRIC_ALPHA_SHARE, 15);
  });

  it("mean and rate-per-user reasons read per user, with their tolerance", () => {
    const mean: MetricInput = { def: quality, stable: { n: 5000, sum: 4000, sumSq: 5000 * (0.64 + 0.01) }, canary: { n: 5000, sum: 3750, sumSq: 5000 * (0.5625 + 0.01) } };
    const rate: MetricInput = { def: jsError, stable: { n: 50_000, sum: 10_000, sumSq: 30_000 }, canary: { n: 50_000, sum: 15_000, sumSq: 45_000 } };
    const d = decide(guard(), [mean, rate]);
    expect(d.action).toBe("fail");
    expect(d.reason).toContain("metric quality: canary mean 0.75 vs stable 0.8 per user (-6.3%, interval");
    expect(d.reason).toContain("worse than the tolerated -2%");
    expect(d.reason).toContain("metric js_error: canary 0.3 vs stable 0.2 events per user (+50%, interval");
    expect(d.reason).toContain("worse than the tolerated +10%");
  });

  it("fails at a later step too (a guardrail is not a gate of one step)", () => {
    const d = decide(guard(), [regressed], { weight: 50, stepIndex: 3 });
    expect(d.action).toBe("fail");
    expect(d.reason).toMatch(/^rollback: metric checkout/);
  });

  it("observe metrics never act, and are in the explanation with their verdict", () => {
    const d = decide(guard(), [{ ...regressed, def: { ...checkout, mode: "observe" } }]);
    expect(d.action).not.toBe("fail");
    expect(d.explanation.metrics).toHaveLength(1);
    expect(d.explanation.metrics![0]!.mode).toBe("observe");
    expect(d.explanation.metrics![0]!.rejects).toBe(true);
    // Observe spends nothing: the error test keeps the whole budget's share.
    expect(d.explanation.errors.alpha).toBeCloseTo(0.008, 15);
  });

  it("guardrail metrics take METRIC_ALPHA_SHARE from the other tests", () => {
    const d = decide(guard(), [equal, { ...equal, def: { ...checkout, name: "signup" } }]);
    expect(d.explanation.errors.alpha).toBeCloseTo(0.01 * (1 - METRIC_ALPHA_SHARE) * 0.8, 15);
    expect(d.explanation.metrics!.map((v) => v.alpha)).toEqual([0.01 * METRIC_ALPHA_SHARE / 2, 0.01 * METRIC_ALPHA_SHARE / 2]);
  });

  it("metrics do not gate the advance: a step with its minimums met advances on an undecided metric, and says so", () => {
    const g = guard();
    const state = createEngineState(g);
    const random = createRandom(4);
    let d: RolloutDecision | undefined;
    // 5 minutes at 25%: the request-level tests bound; 400 users per arm decide nothing about a 3% conversion.
    for (let w = 0; w < 30; w++) {
      const open = { ...healthyWindow(random, 25), start: w * 10_000 };
      d = decideRollout({ now: (w + 1) * 10_000, stepStartedAt: 0, stepIndex: 0, weight: 25, minDurationMs: 60_000, minRequests: 200, open, latencySource: "history", guardrails: g, state, metrics: [{ def: checkout, stable: conv(400, 12), canary: conv(400, 8) }] });
      if (d.action !== "hold") break;
      closeWindow(state, open, g);
    }
    expect(d!.action).toBe("advance");
    expect(d!.reason).toContain("metrics (not a gate): checkout (-33.3%, interval");
    expect(d!.explanation.metricsNote).toMatch(/do not gate the advance/);
    expect(d!.explanation.metrics![0]!.ready).toBe(true);
  });

  it("not judged at weight 100 or in a shadow stage", () => {
    const full = decide(guard(), [regressed], { weight: 100 });
    expect(full.action).not.toBe("fail");
    expect(full.explanation.metricsNote).toMatch(/not judged at weight 100/);
    const shadow = decide(guard(), [regressed], { weight: 0, shadow: { maxMismatchRate: 0.01, latencyPairs: 0.1 } });
    expect(shadow.reason).not.toContain("metric checkout");
    expect(shadow.explanation.metricsNote).toMatch(/shadow stage/);
  });

  it("small n: a canary with 50 users never fails, however bad", () => {
    const d = decide(guard(), [{ def: checkout, stable: conv(20_000, 600), canary: conv(50, 0) }]);
    expect(d.action).not.toBe("fail");
    expect(d.explanation.metrics![0]!.ready).toBe(false);
  });
});
