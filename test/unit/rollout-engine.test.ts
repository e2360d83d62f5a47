import { describe, expect, it } from "vitest";
import { emptyEvidence, mergeEvidence, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { GuardrailsSchema, type Guardrails, type GuardrailsInput } from "../../src/core/stats/guardrails.js";
import { binomial, createRandom, normal, poisson, type Random } from "../../src/core/stats/prng.js";
import { engineFromWindows, rolloutCounts, updateRollout, type RolloutMemo, type StoredWindow } from "../../src/core/stats/rollout-evidence.js";
import { closeWindow, createEngineState, decideRollout, STEP_WINDOWS_KEPT, type ArmWindow, type RolloutDecision, type RolloutWindow } from "../../src/core/stats/rollout-engine.js";
import { appendWindow, createLedger, readLedger, segmentLogPrior } from "../../src/core/stats/rollout-test.js";
import { MIXTURE_GRID, MIXTURE_WEIGHTS } from "../../src/core/stats/msprt.js";

const guard = (over: GuardrailsInput = {}): Guardrails => GuardrailsSchema.parse(over);

interface Traffic {
  rate: number;
  weights: number[];
  /** Per-request error rate per arm (stable, canary); each error is a distinct identity. */
  errors: (t: number) => [number, number];
  slow?: [number, number];
  slowMid?: [number, number];
}

const armOf = (): ArmWindow => ({ requests: 0, errors: 0, failedUsers: 0, timed: 0, slow: 0, timedMid: 0, slowMid: 0 });

/** Drives the engine as the coordinator does (every second, 10 s windows), advancing on "advance". */
function run(random: Random, tr: Traffic, g: Guardrails, seconds: number, minDurationMs = 60_000): { decision: RolloutDecision; at: number; step: number; advances: number } {
  const state = createEngineState(g);
  let step = 0;
  let stepStartedAt = 0;
  let open: RolloutWindow | undefined;
  let last: RolloutDecision | undefined;
  let advances = 0;
  for (let t = 1; t <= seconds; t++) {
    if (!open || (t - 1) % 10 === 0) {
      if (open) closeWindow(state, open, g);
      open = { start: (t - 1) * 1000, step, weight: tr.weights[step]!, stable: armOf(), canary: armOf() };
    }
    const share = tr.weights[step]! / 100;
    const p = tr.errors(t);
    for (const [i, a] of [open.stable, open.canary].entries()) {
      const n = poisson(random, tr.rate * (i === 1 ? share : 1 - share));
      const e = binomial(random, n, p[i]!);
      a.requests += n;
      a.errors += e;
      a.failedUsers += e;
      a.timed += n;
      a.slow += binomial(random, n, tr.slow?.[i] ?? 0.01);
      a.timedMid += n;
      a.slowMid += binomial(random, n, tr.slowMid?.[i] ?? 0.5);
    }
    last = decideRollout({ now: t * 1000, stepStartedAt, stepIndex: step, weight: tr.weights[step]!, minDurationMs, minRequests: 200, open, latencySource: "history", guardrails: g, state });
    if (last.action === "fail") return { decision: last, at: t, step, advances };
    if (last.action === "advance") {
      advances++;
      if (step === tr.weights.length - 1) return { decision: last, at: t, step, advances };
      closeWindow(state, open, g);
      step++;
      stepStartedAt = t * 1000;
      open = { start: t * 1000, step, weight: tr.weights[step]!, stable: armOf(), canary: armOf() };
    }
  }
  return { decision: last!, at: seconds, step, advances };
}

const healthy = (): [number, number] => [0.005, 0.005];

describe("rollout-test (per-rollout change-point mixture SPRT)", () => {
  it("spends one budget over the whole rollout: under the null, P(ever reject) <= alpha over many steps and restarts", () => {
    const alpha = 0.05;
    const random = createRandom(11);
    let rejected = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      const l = createLedger({ tolerance: 1, grid: MIXTURE_GRID, weights: MIXTURE_WEIGHTS, promotionRatios: [2] });
      const shares = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75];
      for (let w = 0; w < 180; w++) {
        const share = shares[Math.min(shares.length - 1, Math.floor(w / 30))]!;
        const n = poisson(random, 5);
        const c = binomial(random, n, share);
        const win = { start: w * 10_000, step: Math.floor(w / 30), canaryEvents: c, stableEvents: n - c, share };
        appendWindow(l, win, { restartMs: 60_000 });
        if (readLedger(l, undefined, { restartMs: 60_000 }).logRatio >= Math.log(1 / alpha)) {
          rejected++;
          break;
        }
      }
    }
    expect(rejected / runs).toBeLessThanOrEqual(alpha);
  });

  it("folds old segments exactly: the same ratio with 8 kept as with all kept, and a step of days stays finite", () => {
    const spec = { tolerance: 1, grid: MIXTURE_GRID, weights: MIXTURE_WEIGHTS, promotionRatios: [2] };
    const sched = { restartMs: 10_000 }; // a segment per window: the most segments a schedule makes
    const all = createLedger(spec, Number.POSITIVE_INFINITY);
    const few = createLedger(spec, 8);
    const random = createRandom(5);
    for (let w = 0; w < 600; w++) {
      // Healthy, then a late 3x regression: the recent segments carry the evidence.
      const share = 0.05;
      const ratio = w < 400 ? 1 : 3;
      const n = poisson(random, 4);
      const c = binomial(random, n, (share * ratio) / (share * ratio + 1 - share));
      const win = { start: w * 10_000, step: 0, canaryEvents: c, stableEvents: n - c, share };
      appendWindow(all, win, sched);
      appendWindow(few, win, sched);
      const open = { ...win, start: (w + 1) * 10_000 };
      const [a, b] = [readLedger(all, open, sched), readLedger(few, open, sched)];
      expect(b.logRatio).toBeCloseTo(a.logRatio, 9);
      expect(b.segments).toBe(a.segments);
    }
    expect(few.segments).toHaveLength(8);
    expect(few.foldedCount).toBe(592);
    // Past the reading's scratch space (4096 segments, ~5.7 days at restartSec 120) the ratio is still a number.
    const long = createLedger(spec);
    for (let w = 0; w < 6000; w++) appendWindow(long, { start: w * 10_000, step: 0, canaryEvents: 0, stableEvents: 1, share: 0.05 }, sched);
    const r = readLedger(long, undefined, sched);
    expect(Number.isFinite(r.logRatio)).toBe(true);
    expect(r.segments).toBe(6000);
  });

  it("has prior weights that sum to 1", () => {
    let sum = 0;
    for (let k = 0; k < 100_000; k++) sum += Math.exp(segmentLogPrior(k));
    expect(sum).toBeGreaterThan(0.9999);
    expect(sum).toBeLessThanOrEqual(1 + 1e-9);
  });
});

describe("a step of days (manual rollout)", () => {
  it("keeps the step's windows bounded while its totals stay exact", () => {
    const g = guard();
    const state = createEngineState(g);
    const arm = (requests: number, failedUsers: number): ArmWindow => ({ requests, errors: failedUsers, failedUsers, timed: requests, slow: 0, timedMid: requests, slowMid: 0 });
    let stable = 0;
    let canary = 0;
    const windows = 8640; // 24 h of 10 s windows
    for (let i = 0; i < windows; i++) {
      const w: RolloutWindow = { start: i * 10_000, step: 0, weight: 10, stable: arm(90 + (i % 7), i % 50 === 0 ? 1 : 0), canary: arm(10 + (i % 3), 0) };
      stable += w.stable.requests;
      canary += w.canary.requests;
      closeWindow(state, w, g);
    }
    expect(state.stepWindows).toHaveLength(STEP_WINDOWS_KEPT);
    expect(state.stepWindows.reduce((n, w) => n + w.stable.requests, 0)).toBe(stable);
    expect(state.stepWindows.reduce((n, w) => n + w.canary.requests, 0)).toBe(canary);
    expect(state.stepWindows[0]!.start).toBe(0);
    expect(state.stepWindows.at(-1)!.start).toBe((windows - 1) * 10_000);
    const d = decideRollout({ now: windows * 10_000, stepStartedAt: 0, stepIndex: 0, weight: 10, minDurationMs: 60_000, minRequests: 200, open: undefined, latencySource: "rolling", guardrails: g, state });
    expect(Number.isFinite(d.explanation.errors.logRatio)).toBe(true);
  });
});

describe("decideRollout", () => {
  it("promotes a healthy canary through a 5-step ladder without failing it", () => {
    const r = run(createRandom(1), { rate: 1000, weights: [5, 10, 25, 50, 100], errors: healthy }, guard(), 1800);
    expect(r.decision.action).toBe("advance");
    expect(r.step).toBe(4);
  });

  it("fails 5x errors within seconds, with guardrails.onFail passed through", () => {
    const r = run(createRandom(2), { rate: 1000, weights: [5, 100], errors: () => [0.005, 0.025] }, guard({ onFail: "pause" }), 600);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.onFail).toBe("pause");
    expect(r.at).toBeLessThan(30);
    expect(r.decision.reason).toMatch(/^pause: failing users/);
  });

  it("never fails a healthy canary for 3 identities alone, however many failing requests they send", () => {
    // 3 identities that picked the canary cohort, 50 failing requests each, through the real evidence path.
    const windows: StoredWindow[] = [];
    for (let w = 0; w < 12; w++) {
      const e = emptyEvidence();
      for (let i = 0; i < 2000; i++) recordOutcome(e, i % 20 === 0 ? "canary" : "stable", false, 50, 1000 + i);
      if (w >= 2 && w < 5) for (let id = 0; id < 3; id++) for (let k = 0; k < 17; k++) recordOutcome(e, "canary", true, 50, 7 + id);
      windows.push({ start: w * 10_000, step: 0, evidence: e });
    }
    const g = guard();
    const { state, open, latencySource } = engineFromWindows({ windows, weights: [5, 100], guardrails: g, now: 115_000 });
    const total = [...state.stepWindows, open!].reduce((a, w) => a + w.canary.failedUsers, 0);
    expect(total).toBe(3);
    const d = decideRollout({ now: 115_000, stepStartedAt: 0, stepIndex: 0, weight: 5, minDurationMs: 60_000, minRequests: 200, open, latencySource, guardrails: g, state });
    expect(d.action).not.toBe("fail");
    expect(d.explanation.burn.trips).toBe(false);
  });

  it("counts an identity's errors once per rollout, across windows and isolates", () => {
    const a = emptyEvidence();
    const b = emptyEvidence();
    recordOutcome(a, "canary", true, 10, 42);
    recordOutcome(a, "canary", true, 10, 42);
    recordOutcome(b, "canary", true, 10, 42);
    recordOutcome(b, "canary", true, 10, 43);
    expect(mergeEvidence(a, b).canary.failedIds).toEqual([42, 43]);
    const counts = rolloutCounts({
      windows: [
        { start: 0, step: 0, evidence: a },
        { start: 10_000, step: 0, evidence: b },
      ],
      weights: [5],
      guardrails: guard(),
      now: 30_000,
    });
    expect(counts.closed.map((w) => w.canary.failedUsers)).toEqual([1, 1]);
    expect(counts.closed.map((w) => w.canary.errors)).toEqual([2, 2]);
  });

  it("catches a regression that starts after a long healthy stretch (restarts keep it from being diluted)", () => {
    // One long 5% step (its minimum outlasts the run): 15 healthy minutes, then 3x.
    const late = run(createRandom(3), { rate: 1000, weights: [5, 100], errors: (t) => [0.005, t > 900 ? 0.015 : 0.005] }, guard(), 1800, 3_600_000);
    expect(late.decision.action).toBe("fail");
    expect(late.at - 900).toBeLessThan(200);
    expect(late.decision.explanation.errors.strongestSegment).toBeGreaterThan(0);
  });

  it("holds at low traffic and says what evidence is missing, with an ETA", () => {
    const r = run(createRandom(4), { rate: 10, weights: [5, 10, 25, 50, 100], errors: healthy }, guard(), 200);
    expect(r.decision.action).toBe("hold");
    expect(r.decision.explanation.lowTraffic).toBe(true);
    expect(r.decision.explanation.needed.length).toBeGreaterThan(0);
    expect(r.decision.reason).toMatch(/low traffic/);
    expect(r.decision.explanation.etaSec).not.toBeNull();
  });

  it("lowTraffic advance passes a step on time on the absolute bound, and says so", () => {
    const g = guard({ lowTraffic: { mode: "advance", afterSec: 120, maxErrorRate: 0.05 } });
    const r = run(createRandom(5), { rate: 10, weights: [5, 10, 25, 50, 100], errors: () => [0.001, 0.001] }, g, 1200);
    expect(r.advances).toBeGreaterThan(0);
  });

  it("rebuilds the same decision from stored windows as the incremental state gives", () => {
    const random = createRandom(6);
    const windows: StoredWindow[] = [];
    for (let w = 0; w < 20; w++) {
      const e = emptyEvidence();
      for (let i = 0; i < 1000; i++) {
        const canary = random() < 0.05;
        recordOutcome(e, canary ? "canary" : "stable", random() < 0.005, Math.exp(Math.log(60) + 0.7 * normal(random)), Math.floor(random() * 2 ** 32));
      }
      windows.push({ start: w * 10_000, step: 0, evidence: e });
    }
    const g = guard();
    const input = { windows, weights: [5, 100], guardrails: g, now: 195_000 };
    const a = engineFromWindows(input);
    const b = createEngineState(g);
    for (const w of rolloutCounts(input).closed) closeWindow(b, w, g);
    const decide = (state: typeof b): RolloutDecision =>
      decideRollout({ now: 195_000, stepStartedAt: 0, stepIndex: 0, weight: 5, minDurationMs: 60_000, minRequests: 200, open: a.open, latencySource: a.latencySource, guardrails: g, state });
    expect(decide(a.state).reason).toBe(decide(b).reason);
  });

  it("brings a memo up to date window by window with the same decisions as a rebuild from scratch", () => {
    const random = createRandom(9);
    const g = guard();
    const windows: StoredWindow[] = [];
    let memo: RolloutMemo | undefined;
    for (let w = 0; w < 30; w++) {
      const e = emptyEvidence();
      for (let i = 0; i < 800; i++) {
        const canary = random() < 0.1;
        recordOutcome(e, canary ? "canary" : "stable", random() < 0.01, Math.exp(Math.log(60) + 0.7 * normal(random)), Math.floor(random() * 500));
      }
      windows.push({ start: w * 10_000, step: w < 15 ? 0 : 1, evidence: e });
      const now = w * 10_000 + 5_000;
      const input = { windows, weights: [10, 20, 100], guardrails: g, now, currentStep: w < 15 ? 0 : 1 };
      const inc = updateRollout(memo, "rel", input);
      memo = inc.memo;
      const full = engineFromWindows(input);
      const decide = (x: { state: typeof full.state; open: typeof full.open; latencySource: typeof full.latencySource }): string =>
        decideRollout({ now, stepStartedAt: w < 15 ? 0 : 150_000, stepIndex: w < 15 ? 0 : 1, weight: w < 15 ? 10 : 20, minDurationMs: 60_000, minRequests: 200, open: x.open, latencySource: x.latencySource, guardrails: g, state: x.state }).reason;
      expect(decide(inc)).toBe(decide(full));
    }
  });

  it("judges a first release's first windows on their own pooled samples, and a cold start in the first window is out of the thresholds (median of three chunks) once they exist", () => {
    const random = createRandom(7);
    const windows: StoredWindow[] = [];
    for (let w = 0; w < 5; w++) {
      const e: Evidence = emptyEvidence();
      const cold = w === 0 ? 8 : 1;
      for (let i = 0; i < 4000; i++) {
        const canary = random() < 0.05;
        const ms = Math.exp(Math.log(40) + 0.3 * normal(random)) * cold * (canary ? 7 : 1);
        recordOutcome(e, canary ? "canary" : "stable", false, ms, i);
      }
      windows.push({ start: w * 10_000, step: 0, evidence: e });
    }
    const counts = rolloutCounts({ windows, weights: [5], guardrails: guard(), now: 45_000 });
    // Nothing before window 0: judged closed at its own pooled p99, cold start (both arms) and all: the canary's 7x shows.
    const w0 = counts.closed[0]!;
    expect(w0.canary.timed).toBeGreaterThan(0);
    expect(w0.canary.slow / w0.canary.timed).toBeGreaterThan(0.1);
    expect(w0.stable.slow / w0.stable.timed).toBeLessThan(0.01);
    // From window 3 on, predictable thresholds: the cold window 0 is one chunk of three and does not blind them.
    expect(counts.closed[3]!.canary.slow / counts.closed[3]!.canary.timed).toBeGreaterThan(0.9);
    expect(counts.latencySource).toBe("rolling");
    expect(counts.open!.canary.timed).toBeGreaterThan(0);
    // An open window without thresholds carries no latency evidence (its pooled quantile would move under the peeks).
    const early = rolloutCounts({ windows: windows.slice(0, 2), weights: [5], guardrails: guard(), now: 15_000 });
    expect(early.latencySource).toBe("calibrating");
    expect(early.open!.canary.timed + early.open!.stable.timed).toBe(0);
    expect(early.closed[0]!.canary.slow).toBeGreaterThan(0);
  });

  it("a runtime cold start of a few stable samples (433 ms against a steady 41 ms) does not blind the thresholds after it", () => {
    const random = createRandom(11);
    const windows: StoredWindow[] = [];
    for (let w = 0; w < 5; w++) {
      const e: Evidence = emptyEvidence();
      for (let i = 0; i < 4000; i++) {
        const canary = random() < 0.05;
        let ms = Math.exp(Math.log(41) + 0.3 * normal(random)) * (canary && w >= 3 ? 1.5 : 1);
        if (w === 0 && !canary && i < 120) ms = 433;
        recordOutcome(e, canary ? "canary" : "stable", false, ms, i);
      }
      windows.push({ start: w * 10_000, step: 0, evidence: e });
    }
    const counts = rolloutCounts({ windows, weights: [5], guardrails: guard(), now: 45_000 });
    const w3 = counts.closed[3]!;
    expect(w3.stable.slow / w3.stable.timed).toBeGreaterThan(0.003); // a steady p99, not 433 ms
    expect(w3.canary.slow / w3.canary.timed).toBeGreaterThan(0.05); // a 433 ms threshold would show none
  });

  it("catches a median shift with the p99 unchanged", () => {
    const r = run(createRandom(8), { rate: 1000, weights: [5, 100], errors: healthy, slow: [0.01, 0.01], slowMid: [0.5, 0.65] }, guard(), 300);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.explanation.median.rejects).toBe(true);
    expect(r.at).toBeLessThan(60);
  });
});
