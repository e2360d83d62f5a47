import { describe, expect, it } from "vitest";
import { emptyEvidence, identityHash, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { exposureAt, type Stage } from "../../src/core/rollout/plan.js";
import { GuardrailsSchema, type Guardrails } from "../../src/core/stats/guardrails.js";
import { binomial, createRandom, poisson, type Random } from "../../src/core/stats/prng.js";
import { ringBaseline, RING_BASELINE_MAX_PERCENT } from "../../src/core/stats/ring-baseline.js";
import { rolloutCounts, updateRollout, type StoredWindow } from "../../src/core/stats/rollout-evidence.js";
import { closeWindow, createEngineState, decideRollout, RING_ALPHA_SHARE, type ArmWindow, type RingWindow, type RolloutDecision, type RolloutWindow } from "../../src/core/stats/rollout-engine.js";

const g: Guardrails = GuardrailsSchema.parse({});
const armOf = (): ArmWindow => ({ requests: 0, errors: 0, failedUsers: 0, timed: 0, slow: 0, timedMid: 0, slowMid: 0 });

interface Stratum {
  /** Ring key, or undefined for everyone else. */
  key?: string;
  /** Share of the traffic. */
  share: number;
  /** Canary share of the stratum (percent). */
  percent: number;
  /** Per-request failing-user rate: stable, canary. */
  errors: [number, number];
  /** Share of requests above the tail threshold: stable, canary. */
  slow?: [number, number];
}

interface Plan {
  /** Per step: everyone's weight, and the strata (rings of the step's exposure and everyone else). */
  steps: Array<{ everyone: number; strata: Stratum[]; current?: string }>;
  keys: string[];
}

/**
 * Drives the engine as the coordinator does, every second on 10 s windows, with the
 * window's arms everyone else's and one RingWindow per ring stratum. `rings: false` drives
 * the engine as if it knew no rings: the arms are the totals (what averaging would see).
 */
function run(random: Random, plan: Plan, seconds: number, rings = true): { decision: RolloutDecision; at: number; step: number } {
  return runWith(g, random, plan, seconds, rings);
}

function runWith(g: Guardrails, random: Random, plan: Plan, seconds: number, rings = true): { decision: RolloutDecision; at: number; step: number } {
  const state = createEngineState(g);
  let step = 0;
  let stepStartedAt = 0;
  let open: RolloutWindow | undefined;
  let last: RolloutDecision | undefined;
  const start = (t: number): RolloutWindow => {
    const s = plan.steps[step]!;
    const ringWs: RingWindow[] = s.strata.filter((x) => x.key !== undefined).map((x) => ({ key: x.key!, baseline: ringBaseline(x.percent), percent: x.percent, stable: armOf(), canary: armOf() }));
    return { start: t * 1000, step, weight: s.everyone, stable: armOf(), canary: armOf(), ...(rings ? { rings: ringWs } : {}) };
  };
  for (let t = 1; t <= seconds; t++) {
    if (!open || (t - 1) % 10 === 0) {
      if (open) closeWindow(state, open, g);
      open = start(t - 1);
    }
    const s = plan.steps[step]!;
    for (const x of s.strata) {
      const ring = rings && x.key !== undefined ? open.rings!.find((r) => r.key === x.key)! : undefined;
      for (const arm of [0, 1] as const) {
        const q = arm === 1 ? x.percent / 100 : 1 - x.percent / 100;
        const n = poisson(random, 1000 * x.share * q);
        const e = binomial(random, n, x.errors[arm]);
        const slow = binomial(random, n, x.slow?.[arm] ?? 0.01);
        for (const a of [ring ? (arm === 1 ? ring.canary : ring.stable) : arm === 1 ? open.canary : open.stable]) {
          a.requests += n;
          a.errors += e;
          a.failedUsers += e;
          a.timed += n;
          a.slow += slow;
          a.timedMid += n;
          a.slowMid += binomial(random, n, 0.5);
        }
      }
    }
    last = decideRollout({
      now: t * 1000,
      stepStartedAt,
      stepIndex: step,
      weight: s.everyone,
      minDurationMs: 60_000,
      minRequests: 200,
      open,
      latencySource: "history",
      guardrails: g,
      state,
      ...(rings ? { rings: { keys: plan.keys, ...(s.current ? { current: s.current } : {}) } } : {}),
    });
    if (last.action === "fail") return { decision: last, at: t, step };
    if (last.action === "advance") {
      if (step === plan.steps.length - 1) return { decision: last, at: t, step };
      closeWindow(state, open, g);
      step++;
      stepStartedAt = t * 1000;
      open = start(t);
    }
  }
  return { decision: last!, at: seconds, step };
}

const base = 0.005;

describe("ring evidence: a regression confined to one ring", () => {
  // nz holds 10% of the traffic and is served at 10% like everyone: the canary share is 10%
  // everywhere, so the totals engine (no rings) judges the totals at the right share. nz's
  // canary fails 5x, everyone else's canary slightly better: the totals show no regression.
  const plan: Plan = {
    keys: ["nz"],
    steps: [
      {
        everyone: 10,
        current: "nz",
        strata: [
          { key: "nz", share: 0.1, percent: 10, errors: [base, 5 * base] },
          { share: 0.9, percent: 10, errors: [base, 0.5 * base] },
        ],
      },
    ],
  };

  it("is caught on the ring's own evidence, while the totals alone see nothing", () => {
    const rings = run(createRandom(11), plan, 900);
    expect(rings.decision.action).toBe("fail");
    expect(rings.at).toBeLessThan(600);
    expect(rings.decision.reason).toMatch(/ring nz \(baseline: the ring's own stable users \(served at 10%\)\): failing users/);
    const nz = rings.decision.explanation.rings!.find((r) => r.key === "nz")!;
    expect(nz.errors.rejects).toBe(true);
    expect(nz.baseline).toBe("ring");
    expect(rings.decision.explanation.errors.rejects).toBe(false);
    // The same traffic judged on the totals: the regression is averaged away.
    const totals = run(createRandom(11), plan, 900, false);
    expect(totals.decision.action).not.toBe("fail");
    expect(totals.decision.explanation.errors.logRatio).toBeLessThan(Math.log(1 / 0.008));
  });

  it("a ring at 100% is compared with all stable users, and the reason says so", () => {
    const staff: Plan = {
      keys: ["staff", "nz"],
      steps: [
        {
          everyone: 0,
          current: "staff",
          strata: [
            { key: "staff", share: 0.05, percent: 100, errors: [base, 5 * base] },
            { share: 0.95, percent: 0, errors: [base, base] },
          ],
        },
      ],
    };
    const r = run(createRandom(5), staff, 600);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.reason).toContain("ring staff (baseline: all stable users (the ring is served at 100%: no stable users of its own))");
    expect(r.decision.explanation.rings![0]).toMatchObject({ key: "staff", current: true, baseline: "all", percent: 100 });
  });

  it("a latency regression confined to a ring at 100% is caught", () => {
    const staff: Plan = {
      keys: ["staff", "nz"],
      steps: [
        {
          everyone: 0,
          current: "nz",
          strata: [
            { key: "staff", share: 0.02, percent: 100, errors: [base, base] },
            { key: "nz", share: 0.1, percent: 100, errors: [base, base], slow: [0.01, 0.05] },
            { share: 0.88, percent: 0, errors: [base, base] },
          ],
        },
      ],
    };
    const r = run(createRandom(8), staff, 300);
    expect(r.decision.action).toBe("fail");
    expect(r.decision.reason).toMatch(/ring nz \(baseline: all stable users .*\): tail latency/);
    expect(r.at).toBeLessThan(60);
  });
});

describe("ring evidence: a ring at 100% whose traffic differs by nature", () => {
  // Staff fail twice as often as everyone, on either version: an identical canary.
  const plan: Plan = {
    keys: ["staff"],
    steps: [{ everyone: 0, current: "staff", strata: [{ key: "staff", share: 0.1, percent: 100, errors: [2 * base, 2 * base] }, { share: 0.9, percent: 0, errors: [base, base] }] }],
  };
  it("is rolled back at the default allBaselineTolerance (1: the stated limit), and not at 2, where the reason says what it is held to", () => {
    const strict = run(createRandom(50), plan, 600);
    expect(strict.decision.action).toBe("fail");
    expect(strict.decision.reason).toContain("ring staff (baseline: all stable users (the ring is served at 100%: no stable users of its own))");
    const wide = GuardrailsSchema.parse({ allBaselineTolerance: 2 });
    let fails = 0;
    let last: RolloutDecision | undefined;
    for (let i = 0; i < 10; i++) {
      last = runWith(wide, createRandom(50 + i), plan, 600).decision;
      if (last.action === "fail") fails++;
    }
    expect(fails).toBe(0);
    expect(last!.explanation.rings![0]!.baselineText).toContain("held to 2x the tolerances");
  });
});

describe("ring evidence: the per-rollout budget", () => {
  it("splits alpha: RING_ALPHA_SHARE of each metric to the rings, evenly across the plan's rings", () => {
    const plan: Plan = {
      keys: ["staff", "nz"],
      steps: [{ everyone: 5, strata: [{ key: "staff", share: 0.05, percent: 100, errors: [base, base] }, { share: 0.95, percent: 5, errors: [base, base] }] }],
    };
    const d = run(createRandom(1), plan, 30).decision;
    const errorAlpha = g.alpha * g.errorAlphaShare;
    expect(d.explanation.errors.alpha).toBeCloseTo(errorAlpha * (1 - RING_ALPHA_SHARE), 12);
    expect(d.explanation.rings![0]!.errors.alpha).toBeCloseTo((errorAlpha * RING_ALPHA_SHARE) / 2, 12);
    const total = d.explanation.errors.alpha + d.explanation.latency.alpha + d.explanation.median.alpha;
    const perRing = d.explanation.rings![0]!.errors.alpha + d.explanation.rings![0]!.latency.alpha + d.explanation.rings![0]!.median.alpha;
    // Two rings of the plan: everyone else's tests plus two rings' spend alpha exactly.
    expect(total + 2 * perRing).toBeCloseTo(g.alpha, 12);
  });

  it("identical canaries on a multi-ring plan do not fail and move through the rings", () => {
    const strata = (everyone: number, rings: Array<[string, number]>): Stratum[] => {
      const shares: Record<string, number> = { staff: 0.02, nz: 0.1 };
      const inRings = rings.reduce((a, [k]) => a + shares[k]!, 0);
      return [...rings.map(([key, percent]): Stratum => ({ key, share: shares[key]!, percent: Math.max(percent, everyone), errors: [base, base] })), { share: 1 - inRings, percent: everyone, errors: [base, base] }];
    };
    const plan: Plan = {
      keys: ["staff", "nz"],
      steps: [
        { everyone: 0, current: "staff", strata: strata(0, [["staff", 100]]) },
        { everyone: 0, current: "nz", strata: strata(0, [["staff", 100], ["nz", 100]]) },
        { everyone: 1, strata: strata(1, [["staff", 100], ["nz", 100]]) },
        { everyone: 10, strata: strata(10, [["staff", 100], ["nz", 100]]) },
      ],
    };
    let fails = 0;
    let pastRings = 0;
    const runs = 40;
    for (let i = 0; i < runs; i++) {
      const r = run(createRandom(1000 + i), plan, 600);
      if (r.decision.action === "fail") fails++;
      if (r.step >= 2) pastRings++;
    }
    expect(fails).toBeLessThanOrEqual(1);
    expect(pastRings).toBeGreaterThanOrEqual(runs * 0.9);
  });

  it("a ring stage at everyone 0% with no traffic at all holds on no canary traffic yet (not weight 0: its ring gets the canary)", () => {
    const plan: Plan = { keys: ["staff"], steps: [{ everyone: 0, current: "staff", strata: [{ key: "staff", share: 0, percent: 100, errors: [base, base] }] }] };
    const d = run(createRandom(4), plan, 5).decision;
    expect(d.action).toBe("hold");
    expect(d.reason).toBe("no data: no canary traffic yet");
  });

  it("a ring stage holds on its ring: no traffic in it yet holds however everyone else looks", () => {
    const plan: Plan = { keys: ["staff"], steps: [{ everyone: 5, current: "staff", strata: [{ share: 1, percent: 5, errors: [base, base] }] }] };
    const d = run(createRandom(3), plan, 400).decision;
    expect(d.action).toBe("hold");
    expect(d.reason).toContain("ring staff: no traffic yet");
  });
});

describe("ringBaseline", () => {
  it.each([
    [1, "ring"],
    [10, "ring"],
    [RING_BASELINE_MAX_PERCENT, "ring"],
    [51, "all"],
    [100, "all"],
  ] as const)("a ring served at %d percent: baseline %s", (percent, expected) => expect(ringBaseline(percent)).toBe(expected));
});

describe("rolloutCounts with rings", () => {
  const plan: Stage[] = [
    { kind: "live", percent: 100, audience: { segments: ["staff"], colos: [], continents: [] } },
    { kind: "live", percent: 10, audience: { segments: [], colos: [], continents: ["OC"] } },
    { kind: "live", percent: 5 },
  ];
  const exposures = plan.map((_, i) => exposureAt(plan, i));

  /** A window's evidence: [ring, variant, error, latency, identity] per request. */
  function evidence(requests: Array<[string | undefined, "stable" | "canary", boolean, number, string]>): Evidence {
    const e = emptyEvidence();
    for (const [ring, variant, err, ms, id] of requests) recordOutcome(e, variant, err, ms, identityHash(id), ring);
    return e;
  }

  it("cuts a window into everyone else and the rings of the step's exposure, each ring with its baseline", () => {
    const w1 = evidence([
      ["staff", "canary", true, 50, "s1"],
      ["staff", "canary", false, 50, "s2"],
      ["continent:OC", "stable", true, 40, "n1"],
      ["continent:OC", "canary", true, 40, "n2"],
      ["continent:OC", "stable", false, 40, "n3"],
      [undefined, "stable", true, 30, "e1"],
      [undefined, "stable", false, 30, "e2"],
      [undefined, "canary", false, 30, "e3"],
    ]);
    const windows: StoredWindow[] = [
      { start: 0, step: 1, evidence: w1 },
      { start: 10_000, step: 1, evidence: emptyEvidence() },
    ];
    const { closed } = rolloutCounts({ windows, weights: [0, 0, 5], guardrails: g, now: 15_000, exposures });
    const w = closed[0]!;
    expect([w.stable.requests, w.stable.errors, w.stable.failedUsers]).toEqual([2, 1, 1]);
    expect([w.canary.requests, w.canary.errors, w.canary.failedUsers]).toEqual([1, 0, 0]);
    const [staff, oc] = w.rings!;
    expect(staff).toMatchObject({ key: "staff", baseline: "all", percent: 100 });
    expect([staff!.canary.requests, staff!.canary.failedUsers, staff!.stable.requests]).toEqual([2, 1, 0]);
    expect(oc).toMatchObject({ key: "continent:OC", baseline: "ring", percent: 10 });
    expect([oc!.canary.requests, oc!.canary.failedUsers, oc!.stable.requests, oc!.stable.failedUsers]).toEqual([1, 1, 2, 1]);
  });

  it("counts a failing identity once per rollout within its ring, and the memo reads as rolloutCounts does", () => {
    const mk = (start: number): StoredWindow => ({ start, step: 0, evidence: evidence([["staff", "canary", true, 50, "same"], [undefined, "stable", true, 50, `other-${start}`]]) });
    const input = { windows: [mk(0), mk(10_000), mk(20_000), { start: 30_000, step: 0, evidence: emptyEvidence() }], weights: [0, 0, 5], guardrails: g, now: 35_000, exposures };
    const { closed } = rolloutCounts(input);
    expect(closed.map((w) => w.rings![0]!.canary.failedUsers)).toEqual([1, 0, 0]);
    expect(closed.map((w) => w.stable.failedUsers)).toEqual([1, 1, 1]);
    const memo = updateRollout(undefined, "k", input);
    expect(memo.state.rings.staff!.ledgers.errors.canaryEvents).toBe(1);
    // staff at 100%: its baseline is all stable users, whose failing identities are everyone else's here.
    expect(memo.state.rings.staff!.ledgers.errors.stableEvents).toBe(3);
  });

  it("without exposures (a caller that knows no rings) the arms stay the totals", () => {
    const e = evidence([["staff", "canary", true, 50, "a"], [undefined, "stable", false, 50, "b"]]);
    const { closed } = rolloutCounts({ windows: [{ start: 0, step: 0, evidence: e }, { start: 10_000, step: 0, evidence: emptyEvidence() }], weights: [5], guardrails: g, now: 15_000 });
    expect(closed[0]!.rings).toBeUndefined();
    expect(closed[0]!.canary.requests).toBe(1);
  });
});
