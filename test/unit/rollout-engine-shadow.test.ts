// The engine on shadow stages: mirrored pairs judged at share 0.5 by the existing ledgers
// (errors, tail and median latency), plus the mismatch test against maxMismatchRate.
import { describe, expect, it } from "vitest";
import { emptyEvidence, recordOutcome } from "../../src/core/evidence.js";
import { emptyShadow } from "../../src/core/shadow/shadow-evidence.js";
import { GuardrailsSchema, type Guardrails, type GuardrailsInput } from "../../src/core/stats/guardrails.js";
import { binomial, createRandom } from "../../src/core/stats/prng.js";
import { closeWindow, createEngineState, decideRollout, MISMATCH_ALPHA_SHARE, oddsRate, type ArmWindow, type RolloutWindow } from "../../src/core/stats/rollout-engine.js";
import { rolloutCounts, updateRollout, type StoredWindow } from "../../src/core/stats/rollout-evidence.js";
import { readLedger } from "../../src/core/stats/rollout-test.js";
import { pairedSecond, runShadowStage } from "./shadow-traffic.js";

const guard = (over: GuardrailsInput = {}): Guardrails => GuardrailsSchema.parse(over);
/** Identities: every `every`-th mirror is one of 1..n in turn, the rest distinct. */
function cycling(every: number, n: number): (i: number) => number {
  let k = 0;
  return (i) => (i % every === 0 ? 1 + (k++ % n) : i + 10);
}
const healthy = { mirrors: 100, fail: [0.005, 0.005] as [number, number] };

describe("shadow stage: the paired tests", () => {
  it("an identical canary graduates from shadow, and the reason names the stage and each test", () => {
    const r = runShadowStage(createRandom(1), healthy, guard(), 900);
    expect(r.decision.action).toBe("advance");
    expect(r.at).toBeGreaterThanOrEqual(60); // steps.minDurationSec
    expect(r.decision.reason).toMatch(/^advance: shadow 10%: \d+ s, \d+ compared mirrors; /);
    expect(r.decision.reason).toMatch(/mismatches: mismatch rate 0% \(0 of \d+ compared, 0 users\), a rate of 1.5% ruled out \(odds 100; maxMismatchRate 1%\)/);
    expect(r.decision.explanation.stage).toBe("shadow 10%");
    expect(r.decision.explanation.srm.checked).toBe(false);
    expect(r.decision.explanation.shadow).toMatchObject({ mismatches: 0, maxMismatchRate: 0.01 });
    for (const t of [r.decision.explanation.errors, r.decision.explanation.latency, r.decision.explanation.median, r.decision.explanation.mismatch]) expect(t.bounded).toBe(true);
  });

  it("identical canaries rarely fail and mostly graduate within 15 minutes (40 seeds)", () => {
    let fails = 0;
    let advanced = 0;
    for (let s = 0; s < 40; s++) {
      const r = runShadowStage(createRandom(100 + s), { ...healthy, mismatch: 0.002 }, guard(), 900);
      if (r.failedAt !== null) fails++;
      if (r.advancedAt !== null) advanced++;
    }
    expect(fails).toBeLessThanOrEqual(1);
    expect(advanced).toBeGreaterThanOrEqual(38);
  });

  it("rolls back a canary with 2x errors on the error test (discordant pairs at share 0.5)", () => {
    const r = runShadowStage(createRandom(2), { mirrors: 100, fail: [0.01, 0.02] }, guard(), 900);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.explanation.errors.rejects).toBe(true);
    expect(r.decision.reason).toMatch(/^rollback: shadow 10%: failing users \(paired: canary-only vs stable-only failures\): \d+ canary \/ \d+ stable events/);
    expect(r.decision.explanation.errors.canaryEvents).toBeGreaterThan(r.decision.explanation.errors.stableEvents);
  });

  it("rolls back +50% latency on the tail signs alone (median test off)", () => {
    const r = runShadowStage(createRandom(3), { ...healthy, latencyShift: Math.log(1.5) }, guard({ medianQuantile: null }), 600);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.explanation.latency.rejects).toBe(true);
    expect(r.decision.explanation.median.active).toBe(false);
    expect(r.decision.reason).toMatch(/tail latency \(paired: pairs with one side 1.5x slower\)/);
    expect(r.at).toBeLessThan(60);
  });

  it("times only the reference pairs: at latencyPairs 0.25 a +50% canary still fails on latency, on a quarter of the mirrors", () => {
    const r = runShadowStage(createRandom(3), { ...healthy, latencyShift: Math.log(1.5), referenceShare: 0.25 }, guard(), 600);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.reason).toMatch(/latency/);
    const ex = r.decision.explanation;
    expect(ex.canary.timed).toBeLessThan(ex.canary.requests * 0.35);
    expect(ex.canary.timed).toBeGreaterThan(ex.canary.requests * 0.15);
    expect(ex.shadow).toMatchObject({ referencePairs: ex.canary.timed, latencyPairs: 0.25 });
  });

  it("latencyTolerance: a canary 3% slower on every request passes at 1.1 and fails at 1 (40 seeds)", () => {
    let failsTolerant = 0;
    let failsStrict = 0;
    for (let s = 0; s < 40; s++) {
      const tr = { ...healthy, latencyShift: Math.log(1.03), latencyNoise: 0.1 };
      if (runShadowStage(createRandom(700 + s), { ...tr, latencyTolerance: 1.1 }, guard(), 600).failedAt !== null) failsTolerant++;
      if (runShadowStage(createRandom(700 + s), { ...tr, latencyTolerance: 1 }, guard(), 600).failedAt !== null) failsStrict++;
    }
    expect(failsTolerant).toBeLessThanOrEqual(2);
    expect(failsStrict).toBeGreaterThanOrEqual(20);
  });

  it("latencyPairs 0: the latency tests are off, a +50% canary graduates on errors and mismatches, and the reason says so", () => {
    const r = runShadowStage(createRandom(5), { ...healthy, latencyShift: Math.log(1.5), referenceShare: 0 }, guard(), 900);
    expect(r.decision.action).toBe("advance");
    expect(r.decision.explanation.latencySource).toBe("off");
    expect(r.decision.explanation.latency.active).toBe(false);
    expect(r.decision.explanation.median.active).toBe(false);
    expect(r.decision.explanation.shadow).toMatchObject({ referencePairs: 0, latencyPairs: 0 });
    expect(r.decision.reason).toMatch(/latency not tested \(shadow.latencyPairs 0: no reference pairs\)$/);
    expect(r.decision.reason).not.toMatch(/tail latency/);
  });

  it("an identical canary's latency signs stay balanced: no latency failure over 15 minutes", () => {
    const r = runShadowStage(createRandom(4), healthy, guard(), 900, { keepGoing: true });
    expect(r.failedAt).toBeNull();
    expect(r.decision.explanation.latency.logRatio).toBeLessThan(0);
  });

  it("rolls back 3% JSON mismatches at the default maxMismatchRate (1%), and says so", () => {
    const r = runShadowStage(createRandom(5), { ...healthy, mismatch: 0.03 }, guard(), 600);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.explanation.mismatch.rejects).toBe(true);
    expect(r.decision.reason).toMatch(/^rollback: shadow 10%: mismatch rate [\d.]+% \(\d+ of \d+ compared, \d+ users\) above maxMismatchRate 1%, per-rollout likelihood ratio/);
  });

  it("rolls back 1% mismatches at maxMismatchRate 0.001", () => {
    const r = runShadowStage(createRandom(6), { ...healthy, mismatch: 0.01 }, guard(), 600, { maxMismatchRate: 0.001 });
    expect(r.decision.action).toBe("fail");
    expect(r.decision.reason).toMatch(/above maxMismatchRate 0.1%/);
  });

  it("does not fail 0.5% mismatches at maxMismatchRate 1% (below the tolerated rate), and graduates", () => {
    const r = runShadowStage(createRandom(7), { ...healthy, mismatch: 0.005 }, guard(), 900);
    expect(r.decision.action).toBe("advance");
  });

  it("a handful of identities with mismatches never fail the stage alone, however many they send", () => {
    // Identities 1..3 make one mirror in 50 and every one of theirs mismatches: ~2% of the compared mirrors.
    const tr = { ...healthy, mismatchIds: [1, 2, 3], identity: cycling(50, 3) };
    const r = runShadowStage(createRandom(8), tr, guard(), 600, { keepGoing: true });
    expect(r.failedAt).toBeNull();
    const m = r.decision.explanation.mismatch;
    expect(m.logRatio).toBeGreaterThan(m.rejectAt); // the statistic alone would fail it: the user gate holds
    expect(r.decision.explanation.shadow?.mismatchUsers).toBe(3);
    expect(r.decision.action).toBe("hold"); // and it does not graduate on a stage that leans to mismatches
    // Five distinct identities do fail it.
    const five = runShadowStage(createRandom(8), { ...tr, mismatchIds: [1, 2, 3, 4, 5], identity: cycling(50, 5) }, guard(), 600);
    expect(five.decision.action).toBe("fail");
  });

  it("maxMismatchRate 0: no mismatch passes, fewer than minFailedUsers identities hold, minFailedUsers fail", () => {
    const clean = runShadowStage(createRandom(9), healthy, guard(), 900, { maxMismatchRate: 0 });
    expect(clean.decision.action).toBe("advance");
    expect(clean.decision.reason).toMatch(/mismatches: none in \d+ compared \(maxMismatchRate 0/);
    const four = { ...healthy, mismatchIds: [1, 2, 3, 4], identity: cycling(500, 4) };
    const held = runShadowStage(createRandom(9), four, guard(), 600, { maxMismatchRate: 0, keepGoing: true });
    expect(held.failedAt).toBeNull();
    expect(held.advancedAt).toBeNull();
    expect(held.decision.reason).toMatch(/maxMismatchRate 0 \(none tolerated; fails at 5 users/);
    const fiveIds = { ...healthy, mismatchIds: [1, 2, 3, 4, 5], identity: cycling(500, 5) };
    const failed = runShadowStage(createRandom(9), fiveIds, guard(), 600, { maxMismatchRate: 0 });
    expect(failed.decision.action).toBe("fail");
    expect(failed.decision.reason).toMatch(/^rollback: shadow 10%: mismatch rate [\d.]+% \(\d+ of \d+ compared, 5 users\) with maxMismatchRate 0/);
  });

  it("graduates when the paired latencies tie (both sides within the timer floor): the median's absolute route", () => {
    const r = runShadowStage(createRandom(11), { ...healthy, latencyNoise: 0, fail: [0.002, 0.002], latencyTolerance: 1 }, guard(), 900);
    expect(r.decision.action).toBe("advance");
    expect(r.decision.explanation.median).toMatchObject({ bounded: true, absolute: true, canaryEvents: 0, stableEvents: 0 });
  });

  it("minRequests counts compared mirrors, and minDurationSec applies", () => {
    const r = runShadowStage(createRandom(10), { ...healthy, mirrors: 5 }, guard(), 100, { minRequests: 1000, minDurationMs: 30_000 });
    expect(r.decision.action).toBe("hold");
    expect(r.decision.reason).toMatch(/\d+ of 1000 compared mirrors/);
    const early = runShadowStage(createRandom(10), healthy, guard(), 50, { minDurationMs: 600_000, keepGoing: true });
    expect(early.advancedAt).toBeNull();
    expect(early.decision.reason).toMatch(/step ran 50 of 600 s/);
  });

  it("the breaker reads the pairs: a canary outage trips it, a shared incident does not", () => {
    const outage = runShadowStage(createRandom(12), { mirrors: 100, fail: [0.005, 0.5] }, guard(), 120);
    expect(outage.decision.action).toBe("fail");
    expect(outage.decision.explanation.burn.trips).toBe(true);
    expect(outage.decision.reason).toMatch(/breaker: canary-only failures of the mirrored requests burn the error budget/);
    const shared = runShadowStage(createRandom(13), { mirrors: 100, fail: [0.3, 0.3] }, guard(), 300, { keepGoing: true });
    expect(shared.failedAt).toBeNull();
    expect(shared.decision.explanation.burn.trips).toBe(false);
  });

  it("at low mirror traffic holds with what is still needed and an ETA, and fails nothing", () => {
    const r = runShadowStage(createRandom(14), { mirrors: 1, fail: [0.005, 0.005] }, guard(), 240, { keepGoing: true, minRequests: 0 });
    expect(r.failedAt).toBeNull();
    expect(r.decision.action).toBe("hold");
    expect(r.decision.explanation.lowTraffic).toBe(true);
    expect(r.decision.explanation.needed.length).toBeGreaterThan(0);
    expect(r.decision.reason).toMatch(/^hold \(low traffic\): shadow 10%: /);
  });

  it("onFail pause and notify word the failure as such", () => {
    const pause = runShadowStage(createRandom(5), { ...healthy, mismatch: 0.05 }, guard({ onFail: "pause" }), 300);
    expect(pause.decision).toMatchObject({ action: "fail", onFail: "pause" });
    expect(pause.decision.reason).toMatch(/^pause: shadow 10%: mismatch rate/);
    const notify = runShadowStage(createRandom(5), { ...healthy, mismatch: 0.05 }, guard({ onFail: "notify" }), 300);
    expect(notify.decision.reason).toMatch(/^advisory: would roll back: shadow 10%: mismatch rate/);
  });
});

describe("shadow stage: the evidence mapping", () => {
  const g = guard();
  function shadowStored(start: number, step: number): StoredWindow {
    const w: StoredWindow = { start, step, evidence: emptyEvidence() };
    pairedSecond(createRandom(start + step), w.evidence, { mirrors: 200, fail: [0.01, 0.01], mismatch: 0.01 }, start);
    return w;
  }

  it("reads a shadow step's window from its pairs (share 0.5, pairs timed on both arms) and ignores its live arms", () => {
    const w = shadowStored(0, 0);
    for (let i = 0; i < 500; i++) recordOutcome(w.evidence, "stable", true, 5000, 9_000_000 + i); // stable incident on the live arm
    const { closed } = rolloutCounts({ windows: [w, { start: 10_000, step: 0, evidence: emptyEvidence() }], weights: [0, 5], kinds: ["shadow", "live"], guardrails: g, now: 20_000 });
    const sh = w.evidence.shadow!;
    expect(closed[0]).toMatchObject({ weight: 50, stable: { requests: sh.match + sh.mismatch + sh.canaryError + sh.canaryTimeout + sh.skipped, timed: sh.referencePairs, slow: sh.refStableSlower, slowMid: sh.refStableSlowerMid }, canary: { timed: sh.referencePairs, slow: sh.refCanarySlower } });
    expect(sh.referencePairs).toBeGreaterThan(100);
    expect(closed[0]!.canary.failedUsers + closed[0]!.stable.failedUsers).toBeLessThanOrEqual(sh.canaryOnly + sh.stableOnly);
    expect(closed[0]!.stable.failedUsers).toBeLessThan(100); // not the 500 live-arm failures
    expect(closed[0]!.shadow).toMatchObject({ mismatches: sh.mismatch, compared: sh.match + sh.mismatch + sh.skipped, maxMismatchRate: 0.01 });
  });

  it("a live step's window never reads shadow evidence (a late mirror delta in a live window)", () => {
    const w = shadowStored(0, 1);
    recordOutcome(w.evidence, "canary", false, 20);
    const { closed } = rolloutCounts({ windows: [w, { start: 10_000, step: 1, evidence: emptyEvidence() }], weights: [0, 5], kinds: ["shadow", "live"], guardrails: g, now: 20_000 });
    expect(closed[0]!.shadow).toBeUndefined();
    expect(closed[0]).toMatchObject({ weight: 5, canary: { requests: 1, failedUsers: 0 } });
  });

  it("counts an identity once per rollout across shadow windows, and one new on both sides of a window on neither", () => {
    const mk = (start: number, canaryIds: number[], stableIds: number[]): StoredWindow => {
      const evidence = emptyEvidence();
      evidence.shadow = { ...emptyShadow(), match: 10, canaryOnly: canaryIds.length, stableOnly: stableIds.length, canaryOnlyIds: { ids: canaryIds }, stableOnlyIds: { ids: stableIds } };
      return { start, step: 0, evidence };
    };
    const { closed } = rolloutCounts({ windows: [mk(0, [1, 2, 3], [3, 4]), mk(10_000, [1, 4, 5], [6]), { start: 20_000, step: 0, evidence: emptyEvidence() }], weights: [0], kinds: ["shadow"], guardrails: g, now: 30_000 });
    expect([closed[0]!.canary.failedUsers, closed[0]!.stable.failedUsers]).toEqual([2, 1]);
    expect([closed[1]!.canary.failedUsers, closed[1]!.stable.failedUsers]).toEqual([1, 1]);
  });

  it("the memo (updateRollout) reads shadow windows as rolloutCounts does", () => {
    const windows = [shadowStored(0, 0), shadowStored(10_000, 0), shadowStored(20_000, 1)];
    const input = { windows, weights: [0, 5], kinds: ["shadow", "live"] as const, guardrails: g, now: 25_000, currentStep: 1 };
    const counts = rolloutCounts(input);
    const memo = updateRollout(undefined, "k", input);
    expect(memo.state.mismatches).toBe(counts.closed.reduce((a, w) => a + (w.shadow?.mismatches ?? 0), 0));
    expect(memo.state.ledgers.errors.canaryEvents).toBe(counts.closed.reduce((a, w) => a + w.canary.failedUsers, 0));
  });
});

describe("the mismatch test", () => {
  const arm = (): ArmWindow => ({ requests: 1000, errors: 0, failedUsers: 0, timed: 0, slow: 0, timedMid: 0, slowMid: 0 });
  /** P(ever fails) over a stage of 120 windows of 500 compared mirrors at a true rate `rate`. */
  function everFails(rate: number, r0: number, runs: number, seed: number): number {
    const g = guard({ alpha: 0.2 }); // mismatch alpha = 0.2 * 0.8 * 0.25 = 0.04
    const random = createRandom(seed);
    let failed = 0;
    for (let run = 0; run < runs; run++) {
      const state = createEngineState(g);
      for (let k = 0; k < 120; k++) {
        const mismatches = binomial(random, 500, rate);
        const w: RolloutWindow = { start: k * 10_000, step: 0, weight: 50, stable: arm(), canary: arm(), shadow: { mirrored: 500, compared: 500, mismatches, mismatchUsers: mismatches, canaryErrors: 0, maxMismatchRate: r0 } };
        closeWindow(state, w, g);
        if (readLedger(state.ledgers.mismatch, undefined, { restartMs: 120_000 }).logRatio >= Math.log(1 / (0.2 * 0.8 * MISMATCH_ALPHA_SHARE))) {
          failed++;
          break;
        }
      }
    }
    return failed / runs;
  }

  it("is a supermartingale under the whole null: at the tolerated rate and below, P(ever fail) <= alpha", () => {
    expect(everFails(0.01, 0.01, 400, 21)).toBeLessThanOrEqual(0.04 + 0.03);
    expect(everFails(0.005, 0.01, 400, 22)).toBeLessThanOrEqual(0.01);
    // ...and it has power just above: 2% at r0 = 1% fails nearly always.
    expect(everFails(0.02, 0.01, 100, 23)).toBeGreaterThan(0.95);
  });

  it("states promotion as a rate: odds ratio m over r0", () => {
    expect(oddsRate(0.01, 1.5)).toBeCloseTo(0.01493, 4);
    expect(oddsRate(0.01, 1)).toBeCloseTo(0.01, 10);
  });

  it("is off in live stages, and its alpha comes out of the errors' share only when the plan has shadow stages", () => {
    const g = guard();
    const state = createEngineState(g);
    const open: RolloutWindow = { start: 0, step: 0, weight: 5, stable: arm(), canary: { ...arm(), requests: 50 } };
    const base = { now: 5000, stepStartedAt: 0, stepIndex: 0, weight: 5, minDurationMs: 60_000, minRequests: 200, open, latencySource: "history" as const, guardrails: g, state };
    const live = decideRollout(base);
    expect(live.explanation.mismatch.active).toBe(false);
    expect(live.explanation.errors.alpha).toBeCloseTo(0.008, 10);
    const planned = decideRollout({ ...base, shadowPlan: true });
    expect(planned.explanation.errors.alpha).toBeCloseTo(0.006, 10);
    expect(planned.explanation.errors.alpha + planned.explanation.latency.alpha + planned.explanation.median.alpha + 0.008 * MISMATCH_ALPHA_SHARE).toBeCloseTo(g.alpha, 10);
  });
});
