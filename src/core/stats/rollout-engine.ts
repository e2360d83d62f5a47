// Decision engine v2: one rollout, every step, judged per user. From the rollout's
// evidence windows (per arm: requests, users with a first error, latency exceedances of
// two stable quantiles) to hold, advance or fail, with every number behind the call.
//
// - Errors are counted per identity: a window's canary and stable events are identities
//   whose FIRST error in the rollout fell in it (retries, reloads and a broken session are
//   one piece of evidence). Cohorts are a hash of the identity, so under "the canary
//   changes nothing" each failing identity is the canary's with probability = the
//   configured weight, exactly, whatever the users do: the error test needs no dispersion
//   estimate. An identity can add at most one event per rollout, and the test may not
//   fail the canary before minFailedUsers distinct canary identities have failed.
// - Every test is per rollout (rollout-test.ts): alpha bounds the false-failure
//   probability of the whole rollout, with restarts for late regressions.
// - Latency: exceedances of the stable p99 and p50 (configurable), thresholds taken per
//   window from the stable arm of the windows BEFORE it (predictable, so the test stays
//   valid, and a cold start washes out of the threshold within a minute).
// - Promotion: the rollout's evidence rules out the smallest ratio the traffic can confirm
//   within stepTargetSec, at odds promotionOdds; too little traffic for any ratio is "low
//   traffic" (guardrails.lowTraffic: hold with an ETA, or advance on time on an absolute bound).
// - The burn-rate breaker and the sample-ratio check run per step as in v1, the breaker on
//   failing identities, not failed requests.
// - Shadow stages (users served by stable, a share of requests mirrored to the canary):
//   the window's arms are the mirrored PAIRS (rollout-evidence.ts), judged at share 0.5 by
//   the same ledgers: a discordant pair (only one side failed) is the canary's with
//   probability 1/2 when the canary is no worse, and so is a pair where one side was
//   slower by the margin. A fourth test, mismatch, holds the compared mirrors to
//   route.shadow.maxMismatchRate (a Bernoulli mixture SPRT on odds ratios). The
//   sample-ratio check does not apply there (mirroring is by method, not a cohort split).
// - Rings (a plan with ring stages: staff, a country, colos): the traffic is cut into
//   strata, each ring's requests (attributed to the first ring of the plan they are in)
//   and everyone else's. The window's stable/canary arms are everyone else's (judged at
//   the configured weight, as without rings), and every ring has its own per-rollout
//   ledgers, judged against its baseline (ring-baseline.ts: the ring's own stable users,
//   or all stable users when the ring is served above 50%) at the window's observed
//   request share. So a regression confined to one ring is tested on that ring's traffic
//   alone, not averaged into the totals, and a ring that is all canary (staff at 100%) is
//   not mixed into a comparison where its base rate would bias the split (Simpson). A
//   regression in any ring fails the rollout; the current stage's ring also gates the
//   advance. Alpha: RING_ALPHA_SHARE of each metric's alpha goes to the rings, split
//   evenly across the plan's rings; the union bound keeps the whole rollout within alpha.
// - Metrics (route.metrics, metric-test.ts): per-user moments of both arms since the
//   rollout's evidence start, a confidence-sequence non-inferiority test per metric. A
//   guardrail that shows the canary worse than tolerated fails the rollout at any split
//   stage; metrics never gate the advance; METRIC_ALPHA_SHARE of alpha goes to them.
// Pure: the clock comes in as `now`; the state object is the caller's memo of closed
// windows (createEngineState / closeWindow), rebuilt from stored windows after a restart.
import { checkBurnRate, wilsonInterval, type BurnCounts, type BurnResult } from "./burn-rate.js";
import type { Guardrails } from "./guardrails.js";
import { MIXTURE_GRID, MIXTURE_WEIGHTS } from "./msprt.js";
import { appendWindow, createLedger, readLedger, type Schedule, type TestLedger, type TestReading, type TestSpec, type TestWindow } from "./rollout-test.js";
import { baselineText, widenShare, type RingBaseline } from "./ring-baseline.js";
import { checkSampleRatio, type SrmResult } from "./srm.js";
import { testMetric, type MetricTestResult } from "./metric-test.js";
import type { MetricInput } from "../metrics/metric-stats.js";

export interface ArmWindow {
  requests: number;
  /** Failed requests (for display and rivals only; the tests use failedUsers). */
  errors: number;
  /** Identities whose first error in the rollout fell in this window. */
  failedUsers: number;
  /** Requests compared with the window's tail threshold, and those slower. */
  timed: number;
  slow: number;
  /** Requests compared with the window's median threshold, and those slower. */
  timedMid: number;
  slowMid: number;
}

/** A shadow stage's window, beyond its paired arms: what the comparison of the mirrors found. */
export interface ShadowWindow {
  /** Mirrors with an outcome of any kind. */
  mirrored: number;
  /** Mirrors whose answers were compared: match + mismatch + skipped. */
  compared: number;
  mismatches: number;
  /** Identities whose first mismatch in the rollout fell in this window. */
  mismatchUsers: number;
  /** Mirrors whose canary answer failed or timed out. */
  canaryErrors: number;
  /** route.shadow.maxMismatchRate: the rate the mismatch test holds this window to. */
  maxMismatchRate: number;
}

/**
 * One ring's requests in a window (a plan with ring stages): its own arms, and what its
 * canary is compared with. `percent` is the share the canary serves the ring at
 * (the higher of its percent and everyone's), which chose the baseline.
 */
export interface RingWindow {
  key: string;
  baseline: RingBaseline;
  percent: number;
  stable: ArmWindow;
  canary: ArmWindow;
}

export interface RolloutWindow {
  start: number;
  step: number;
  /**
   * Canary share of the window's events, percent: the configured weight of a live step;
   * 50 for a shadow stage's window, whose arms are the two sides of the mirrored pairs
   * (canary: the mirror's answer, stable: the user's), not traffic split by cohort.
   */
  weight: number;
  stable: ArmWindow;
  canary: ArmWindow;
  /** Present on a shadow stage's window (only there). */
  shadow?: ShadowWindow;
  /**
   * Per ring, on a plan with ring stages. Then `stable` and `canary` are everyone else's
   * requests (the totals less the rings'), and the route's totals are their sum.
   */
  rings?: RingWindow[];
}

export type MetricKey = "errors" | "latency" | "median" | "mismatch";

/**
 * Share of the errors' alpha set aside for the mismatch test, when the plan has shadow
 * stages (a property of the config, fixed before any data: the budget stays per rollout).
 * Defaults: errors 0.006, mismatch 0.002, tail 0.001, median 0.001.
 */
export const MISMATCH_ALPHA_SHARE = 0.25;
/**
 * Mismatch alternatives: odds ratios over maxMismatchRate r0 (theta1 / (1 - theta1) =
 * m * r0 / (1 - r0)); 3x is 3% at the default 1%, 10x is 1% at r0 = 0.1%.
 */
const MISMATCH_GRID: readonly number[] = [1.5, 2, 3, 5, 10, 30];
const MISMATCH_WEIGHTS: readonly number[] = [1, 2, 2.5, 1.5, 1, 0.5];

/**
 * Error alternatives' weights on MIXTURE_GRID (1.25 .. 10): more on 2x than v1's, which
 * pays for the first segment's prior (ln 1/0.7) at 2x; 1.25x, which no rollout-length test
 * catches at 5% and 1000 req/s anyway, gives it up.
 */
const ERROR_WEIGHTS: readonly number[] = [0.5, 2.5, 4, 1.5, 1, 0.5];
const MEDIAN_GRID: readonly number[] = [1.1, 1.2, 1.35, 1.6, 1.9];
const MEDIAN_WEIGHTS: readonly number[] = [2, 3, 2, 1, 0.5];
/** Alpha shares when the median test runs (errors, tail, median). */
const SHARES_WITH_MEDIAN = { latency: 0.5, median: 0.5 };
/**
 * Share of each metric's alpha spent on the ring tests when the plan has ring stages,
 * split evenly across the plan's rings (a property of the config, fixed before any data,
 * so the budget stays per rollout: by the union bound the false-failure probability of
 * the whole rollout is at most the sum, alpha). Half: rings see a small share of the
 * traffic but carry the plan's first exposure (a staff or country stage is where a
 * regression shows first), everyone else carries the later, larger stages; an even split
 * costs each side ln 2 of evidence (about one more failing user at 2x), and the split
 * across R rings another ln R, whatever the rings' sizes (sizing by traffic would read
 * the data). With the defaults and 2 rings: everyone else's errors 0.004, each ring's 0.002.
 */
export const RING_ALPHA_SHARE = 0.5;
type RingMetric = "errors" | "latency" | "median";
const RING_METRICS = ["errors", "latency", "median"] as const satisfies readonly RingMetric[];

/**
 * Share of alpha set aside for the metric guardrails when the route has any (route.metrics
 * with mode guardrail), split evenly across them; the rest is split as without metrics
 * (errors, mismatch, latency, median, rings). A property of the config, fixed before any
 * data, so the union bound keeps the rollout within alpha. A quarter: the error and latency
 * tests pay ln(4/3) = 0.29 nats for it (a second or two at 2x errors), while a metric test,
 * whose evidence grows with users over minutes to hours, pays ln(1/alpha_metric): with three
 * guardrails 0.00083 each, 7.1 nats, against 6.0 for one and 4.6 for the whole budget.
 * Observe metrics spend nothing (they never act; their intervals are shown at a guardrail's alpha).
 */
export const METRIC_ALPHA_SHARE = 0.25;

/** Every test's alpha for a rollout, by config alone. */
export interface RolloutAlphas {
  /** The errors' share of the non-metric budget (the mismatch test's share is taken from it). */
  errorShare: number;
  errors: number;
  latency: number;
  /** Spent only when the median test runs (medianOn); otherwise latency has the whole latency share. */
  median: number;
  mismatch: number;
  /** Each ring's tests (0 without rings). */
  ringEach: Record<RingMetric, number>;
  /** Each guardrail metric's (0 without guardrail metrics); observe metrics are shown at it too. */
  metricEach: number;
}

/**
 * The split of guardrails.alpha across the rollout's tests: metric guardrails first
 * (METRIC_ALPHA_SHARE, when there are any), then errors (errorAlphaShare; MISMATCH_ALPHA_SHARE
 * of it to the mismatch test on a plan with shadow stages), latency and median (halves when
 * the median runs), and RING_ALPHA_SHARE of each of those to the rings, evenly. Without
 * guardrail metrics the arithmetic is the same as before metrics existed, to the bit.
 */
export function rolloutAlphas(g: Guardrails, o: { shadowPlan?: boolean; medianOn: boolean; rings: number; guardrailMetrics: number }): RolloutAlphas {
  const metricsOn = o.guardrailMetrics > 0;
  const budget = metricsOn ? g.alpha * (1 - METRIC_ALPHA_SHARE) : g.alpha;
  const errorShare = budget * g.errorAlphaShare;
  const mismatch = o.shadowPlan ? errorShare * MISMATCH_ALPHA_SHARE : 0;
  const keep = o.rings > 0 ? 1 - RING_ALPHA_SHARE : 1;
  const perRing = o.rings > 0 ? RING_ALPHA_SHARE / o.rings : 0;
  const errorAll = errorShare - mismatch;
  const latencyAll = (budget - errorShare) * (o.medianOn ? SHARES_WITH_MEDIAN.latency : 1);
  const medianAll = (budget - errorShare) * SHARES_WITH_MEDIAN.median;
  return {
    errorShare,
    errors: errorAll * keep,
    latency: latencyAll * keep,
    median: medianAll * keep,
    mismatch,
    ringEach: { errors: errorAll * perRing, latency: latencyAll * perRing, median: medianAll * perRing },
    metricEach: metricsOn ? (g.alpha * METRIC_ALPHA_SHARE) / o.guardrailMetrics : 0,
  };
}

/** One ring's per-rollout tests: ledgers and promotion picks per metric, as the route's. */
export interface RingState {
  ledgers: Record<RingMetric, TestLedger>;
  pick: Record<RingMetric, number>;
  /** The baseline and percent of the ring's newest closed window. */
  baseline: RingBaseline;
  percent: number;
  /** As EngineState.judged, from the ring's own first window. */
  judged: Record<RingMetric, boolean>;
}

export interface EngineState {
  ledgers: Record<MetricKey, TestLedger>;
  /** Closed windows of the current step (breaker, SRM, minimums). */
  stepWindows: RolloutWindow[];
  step: number;
  closed: number;
  /** The stable arm of the last windows before the current step (the breaker's yardstick at weight 100). */
  stableBefore: ArmWindow[];
  /**
   * Per metric, the index of the strongest promotion ratio the traffic has been able to
   * confirm within stepTargetSec at any closed window after the first minute (-1: none
   * yet). Sticky, so a dip in traffic never weakens what a gate is stated against, and a
   * function of the windows alone, so a restarted coordinator rebuilds it.
   */
  pick: Record<MetricKey, number>;
  /** Whether the rollout has the history to judge its traffic (TRAFFIC_JUDGED_AFTER_SEC of closed windows). */
  trafficJudged: boolean;
  /**
   * Per metric: whether its ledger has the history to judge its traffic (TRAFFIC_JUDGED_AFTER_SEC
   * since its first window that could carry evidence: everyone else's only once everyone gets
   * the canary, after ring stages at 0%).
   */
  judged: Record<MetricKey, boolean>;
  lowTrafficNotified: boolean;
  /** Distinct identities with a mismatch over the rollout's closed shadow windows (minFailedUsers gates the mismatch test). */
  mismatchUsers: number;
  /** Mismatches and compared mirrors over the rollout's closed shadow windows (the zero-tolerance route and the wording). */
  mismatches: number;
  compared: number;
  /** Per ring key, on a plan with ring stages (created at the ring's first window). */
  rings: Record<string, RingState>;
}

function specs(g: Guardrails): Record<MetricKey, TestSpec> {
  const promo = g.promotionRatios;
  return {
    errors: { tolerance: g.errorRatioTolerance, grid: MIXTURE_GRID, weights: ERROR_WEIGHTS, promotionRatios: promo.map((r) => r * g.errorRatioTolerance) },
    latency: { tolerance: g.latencyRatioTolerance, grid: MIXTURE_GRID, weights: MIXTURE_WEIGHTS, promotionRatios: promo.map((r) => r * g.latencyRatioTolerance) },
    // Exceedances of a median can at most double: promotion ratios are read on the same scale, squeezed below 2.
    median: {
      tolerance: g.medianRatioTolerance,
      grid: MEDIAN_GRID,
      weights: MEDIAN_WEIGHTS,
      promotionRatios: promo.map((r) => Math.min(1.9, g.medianRatioTolerance * (1 + (r - 1) * 0.25))),
    },
    // Odds ratios over maxMismatchRate (the window's share); tolerance 1: any rate above r0 is a regression.
    mismatch: { tolerance: 1, grid: MISMATCH_GRID, weights: MISMATCH_WEIGHTS, promotionRatios: promo },
  };
}

export function createEngineState(g: Guardrails): EngineState {
  const s = specs(g);
  return {
    ledgers: { errors: createLedger(s.errors), latency: createLedger(s.latency), median: createLedger(s.median), mismatch: createLedger(s.mismatch) },
    stepWindows: [],
    step: -1,
    closed: 0,
    stableBefore: [],
    pick: { errors: -1, latency: -1, median: -1, mismatch: -1 },
    trafficJudged: false,
    judged: { errors: false, latency: false, median: false, mismatch: false },
    lowTrafficNotified: false,
    mismatchUsers: 0,
    mismatches: 0,
    compared: 0,
    rings: {},
  };
}

function createRingState(g: Guardrails, w: RingWindow): RingState {
  const s = specs(g);
  return { ledgers: { errors: createLedger(s.errors), latency: createLedger(s.latency), median: createLedger(s.median) }, pick: { errors: -1, latency: -1, median: -1 }, baseline: w.baseline, percent: w.percent, judged: { errors: false, latency: false, median: false } };
}

/** A stable arm summed from everyone else's and every ring's: the "all" baseline. */
export function allStable(w: Pick<RolloutWindow, "stable" | "rings">): ArmWindow {
  const out = zero();
  addArm(out, w.stable);
  for (const r of w.rings ?? []) addArm(out, r.stable);
  return out;
}

/**
 * A ring's window for one metric: its canary's events against its baseline's, at the
 * window's observed share of the two (requests for errors, timed requests for latency).
 * The share is fixed by the request counts, which carry no error or latency outcome.
 */
function ringTestWindow(w: RolloutWindow, r: RingWindow, key: RingMetric, all: ArmWindow, g: Guardrails): TestWindow {
  const base = r.baseline === "ring" ? r.stable : all;
  const c = r.canary;
  // Against all stable users, the null is a ratio up to allBaselineTolerance times the tolerance (ring-baseline.ts).
  const widen = (s: number): number => (r.baseline === "ring" ? s : widenShare(s, g.allBaselineTolerance));
  if (key === "errors") {
    const n = c.requests + base.requests;
    return { start: w.start, step: w.step, canaryEvents: c.failedUsers, stableEvents: base.failedUsers, share: widen(n > 0 ? c.requests / n : 0) };
  }
  const [ct, bt, ce, be] = key === "latency" ? [c.timed, base.timed, c.slow, base.slow] : [c.timedMid, base.timedMid, c.slowMid, base.slowMid];
  return { start: w.start, step: w.step, canaryEvents: ce, stableEvents: be, share: widen(ct + bt > 0 ? ct / (ct + bt) : 0) };
}

function testWindow(w: RolloutWindow, key: MetricKey): TestWindow {
  // Under H0 each compared mirror mismatches with probability <= r0: theta(r0, 1) = r0, so
  // the ledger's term m^c / (r0*m + 1 - r0)^n is the Bernoulli likelihood ratio of the odds
  // ratio m; its expectation per mirror is linear and increasing in the true rate and 1 at
  // r0, so below 1 for every rate <= r0 (a supermartingale under the whole null). r0 = 0
  // carries no likelihood evidence (share outside (0, 1)): decideRollout's zero-tolerance route.
  if (key === "mismatch") {
    const s = w.shadow;
    return { start: w.start, step: w.step, canaryEvents: s?.mismatches ?? 0, stableEvents: s ? s.compared - s.mismatches : 0, share: s?.maxMismatchRate ?? 0 };
  }
  if (key === "errors") return { start: w.start, step: w.step, canaryEvents: w.canary.failedUsers, stableEvents: w.stable.failedUsers, share: w.weight / 100 };
  const [c, s] = key === "latency" ? [w.canary.timed, w.stable.timed] : [w.canary.timedMid, w.stable.timedMid];
  const [ce, se] = key === "latency" ? [w.canary.slow, w.stable.slow] : [w.canary.slowMid, w.stable.slowMid];
  return { start: w.start, step: w.step, canaryEvents: ce, stableEvents: se, share: c + s > 0 ? c / (c + s) : 0 };
}

/** Windows of the previous step's stable arm kept as the breaker's yardstick at weight 100. */
const STABLE_REFERENCE_WINDOWS = 6;

/** A step's data "lean to regression" above this ln ratio (0, less rounding: no events is exactly no lean). */
const LEAN_EPSILON = 1e-9;
/** Nominal window width (the coordinator's), for event rates. */
const WINDOW_SEC = 10;
/** Traffic is judged (promotion ratio, low traffic) once the rollout has this much history (or stepTargetSec/5, if shorter). */
const TRAFFIC_JUDGED_AFTER_SEC = 60;

const schedule = (g: Guardrails): Schedule => ({ restartMs: g.restartSec * 1000 });
const METRICS = ["errors", "latency", "median", "mismatch"] as const satisfies readonly MetricKey[];

/** Adds a closed window (in start order) to the state. */
export function closeWindow(state: EngineState, w: RolloutWindow, g: Guardrails): void {
  if (w.step !== state.step) {
    // A shadow stage's arms are pairs, not the stable traffic of a split: never the yardstick.
    const before = state.stepWindows.filter((x) => x.stable.requests > 0 && !x.shadow).map((x) => x.stable);
    if (before.length > 0) state.stableBefore = before.slice(-STABLE_REFERENCE_WINDOWS);
    state.step = w.step;
    state.stepWindows = [];
  }
  state.stepWindows.push(w);
  if (state.stepWindows.length > STEP_WINDOWS_KEPT) foldOldest(state.stepWindows);
  for (const key of METRICS) appendWindow(state.ledgers[key], testWindow(w, key), schedule(g));
  if (w.rings && w.rings.length > 0) {
    const all = allStable(w);
    for (const r of w.rings) {
      const rs = (state.rings[r.key] ??= createRingState(g, r));
      rs.baseline = r.baseline;
      rs.percent = r.percent;
      for (const key of RING_METRICS) appendWindow(rs.ledgers[key], ringTestWindow(w, r, key, all, g), schedule(g));
    }
  }
  if (w.shadow) {
    state.mismatchUsers += w.shadow.mismatchUsers;
    state.mismatches += w.shadow.mismatches;
    state.compared += w.shadow.compared;
  }
  state.closed++;
  const first = state.ledgers.errors.firstStart ?? w.start;
  if ((w.start - first) / 1000 + WINDOW_SEC >= judgedAfter(g)) state.trafficJudged = true;
  for (const key of METRICS) judge(state.ledgers[key], state.pick, state.judged, key, w, g);
  for (const r of Object.values(state.rings)) for (const key of RING_METRICS) judge(r.ledgers[key], r.pick, r.judged, key, w, g);
}

const judgedAfter = (g: Guardrails): number => Math.min(TRAFFIC_JUDGED_AFTER_SEC, g.stepTargetSec / 5);

/** Once a ledger has judgedAfter seconds of traffic: judged, and its promotion ratio picked (pickRatio). */
function judge<K extends string>(l: TestLedger, pick: Record<K, number>, judged: Record<K, boolean>, key: K, w: RolloutWindow, g: Guardrails): void {
  if (l.evidenceStart === undefined) return;
  const spanSec = (w.start - l.evidenceStart) / 1000 + WINDOW_SEC;
  if (spanSec < judgedAfter(g)) return;
  judged[key] = true;
  pick[key] = pickRatio(l, pick[key], spanSec, g);
}

/** The smallest promotion ratio the ledger's traffic can confirm within stepTargetSec (sticky: never weaker than `picked`). */
function pickRatio(l: TestLedger, picked: number, spanSec: number, g: Guardrails): number {
  const events = l.canaryEvents + l.stableEvents;
  const rate = events / spanSec;
  const needed = Math.log(g.promotionOdds);
  for (let j = 0; j < l.spec.promotionRatios.length; j++) {
    const drift = events > 0 ? l.promoDrift[j]! / events : 0;
    if (drift * rate > 0 && needed / (drift * rate) <= g.stepTargetSec) return picked < 0 || j < picked ? j : picked;
  }
  return picked;
}

export interface RolloutInput {
  now: number;
  stepStartedAt: number;
  stepIndex: number;
  /** Canary weight users are served at, percent (0 in a shadow stage). */
  weight: number;
  minDurationMs: number;
  /** Canary requests the step needs before it may advance (in a shadow stage: compared mirrors). */
  minRequests: number;
  /** The window still filling (counts so far), if any. */
  open: RolloutWindow | undefined;
  /**
   * Where the latency thresholds come from: history before the rollout, the rollout's own
   * earlier windows, or none yet ("calibrating": each window is judged once closed, on its
   * own pooled samples; the open window carries no latency evidence).
   */
  latencySource: "history" | "rolling" | "calibrating" | "off";
  guardrails: Guardrails;
  state: EngineState;
  /** The current stage as people read it (plan.ts stageLabel: "shadow 10%", "5%"), for the reasons. */
  stage?: string;
  /**
   * Set when the current stage is a shadow stage: its windows are mirrored pairs, judged
   * against maxMismatchRate; latencyPairs is route.shadow.latencyPairs (0: the stage has no
   * reference pairs, so its latency tests are off and it is judged on errors and mismatches).
   */
  shadow?: { maxMismatchRate: number; latencyPairs: number };
  /**
   * Whether the rollout's plan has shadow stages: then the mismatch test's alpha share
   * (MISMATCH_ALPHA_SHARE of the errors') is set aside for the whole rollout, by config,
   * never by what the data show. A caller whose plan has shadow stages must say so in its
   * live stages too, or their error test would spend the share the shadow stage set aside.
   */
  shadowPlan?: boolean;
  /**
   * A plan with ring stages: every ring key of the plan (the ring tests' alpha is split
   * across them, by config) and the current stage's ring, whose tests gate the advance.
   */
  rings?: { keys: readonly string[]; current?: string };
  /**
   * The route's metrics (route.metrics) with both arms' per-user moments since the rollout's
   * evidence start. Guardrails that reject fail the rollout at any live stage with a stable
   * arm; observe metrics are shown and never act. Metrics do not gate the advance.
   */
  metrics?: readonly MetricInput[];
}

export interface MetricReading extends TestReading {
  metric: MetricKey;
  alpha: number;
  rejectAt: number;
  rejects: boolean;
  /** Promotion: the ratio the gate is stated against (null: traffic too low for any). */
  promotionRatio: number | null;
  /** ln-evidence needed against promotionRatio (ln promotionOdds) and what the rollout has. */
  promotionNeeded: number;
  promotionHave: number;
  bounded: boolean;
  /** Seconds more the gate is expected to need at the current traffic; 0 when passed, null when unknown. */
  etaSec: number | null;
  active: boolean;
  /** No promotion ratio can be confirmed within stepTargetSec at this traffic. */
  lowTraffic: boolean;
  /** Passed by the absolute route (rate within the SLO, or slow share within 1 - quantile), not the relative one. */
  absolute: boolean;
}

/** A shadow stage's comparison in numbers (the current stage's mirrors, and the rollout's shadow stages so far). */
export interface ShadowExplanation {
  /** The current stage's windows. */
  mirrored: number;
  compared: number;
  mismatches: number;
  canaryErrors: number;
  /** The rollout's shadow stages so far: mismatches, compared mirrors, distinct mismatching identities. */
  rolloutMismatches: number;
  rolloutCompared: number;
  mismatchUsers: number;
  /** rolloutMismatches / rolloutCompared (0 before any). */
  mismatchRate: number;
  maxMismatchRate: number;
  /** Rates above this are ruled out at odds promotionOdds (0 mismatches: ln K / compared); null with mismatches and r0 = 0. */
  mismatchRateBound: number | null;
  /** The current stage's timed reference pairs (a mirror and a stable request sent with it). */
  referencePairs: number;
  /** route.shadow.latencyPairs; 0: the stage's latency tests are off. */
  latencyPairs: number;
}

/** One ring's tests in a decision. */
export interface RingExplanation {
  key: string;
  /** The current stage's ring: its tests gate the advance (every ring's can fail the rollout). */
  current: boolean;
  baseline: RingBaseline;
  percent: number;
  /** The baseline in words ("baseline: all stable users (the ring is served at 100%: ...)"). */
  baselineText: string;
  /** The ring's arms over the current step. */
  stable: ArmWindow;
  canary: ArmWindow;
  errors: MetricReading;
  latency: MetricReading;
  median: MetricReading;
}

export interface RolloutExplanation {
  elapsedMs: number;
  minimumsMet: boolean;
  weight: number;
  step: number;
  /** The stage's label ("shadow 10%", "5%"), when the caller gave it. */
  stage?: string;
  latencySource: RolloutInput["latencySource"];
  /** The step's totals per arm (in a shadow stage: the two sides of the mirrored pairs). */
  stable: ArmWindow;
  canary: ArmWindow;
  errors: MetricReading;
  latency: MetricReading;
  median: MetricReading;
  /** The mismatch test (active only in a shadow stage with maxMismatchRate > 0). */
  mismatch: MetricReading;
  canaryFailedUsers: number;
  burn: BurnResult;
  srm: SrmResult;
  /** Present in a shadow stage. */
  shadow?: ShadowExplanation;
  /**
   * Per ring, on a plan with ring stages (then `stable` and `canary` above are everyone
   * else's requests, and `errors`, `latency`, `median` everyone else's tests).
   */
  rings?: RingExplanation[];
  lowTraffic: boolean;
  /**
   * Every metric's verdict (observe included), present when the route has metrics. A
   * MetricVerdict with the test's own numbers (ready, difference, halfWidth, alpha).
   */
  metrics?: MetricTestResult[];
  /** Present with metrics: how they are judged (they fail the rollout, never gate the advance). */
  metricsNote?: string;
  /** The weaker guarantee a low-traffic advance stands on, when it happened. */
  lowTrafficAdvance: string | null;
  /** Evidence still needed before the step may advance, worded, with an ETA. */
  needed: string[];
  etaSec: number | null;
  blockers: string[];
}

export type RolloutAction = "hold" | "advance" | "fail";

export interface RolloutDecision {
  action: RolloutAction;
  /** What the coordinator does with a "fail": guardrails.onFail. */
  onFail: Guardrails["onFail"];
  reason: string;
  explanation: RolloutExplanation;
}

/**
 * Closed windows of the current step kept one by one (1 h); older ones are summed into the
 * first entry, so a step of days (a manual rollout) holds O(1) memory and is read in O(1).
 * The per-step totals stay exact; the breaker's short window (the last twelfth of the
 * step) is then at most the last hour.
 */
export const STEP_WINDOWS_KEPT = 360;

/** Sums the two oldest windows into one that starts at the older one's start. */
function foldOldest(ws: RolloutWindow[]): void {
  const [a, b] = ws as [RolloutWindow, RolloutWindow];
  const stable = zero();
  const canary = zero();
  addArm(stable, a.stable);
  addArm(stable, b.stable);
  addArm(canary, a.canary);
  addArm(canary, b.canary);
  const folded: RolloutWindow = { start: a.start, step: a.step, weight: b.weight, stable, canary };
  if (a.rings || b.rings) folded.rings = sumRings([a, b]);
  if (a.shadow || b.shadow) {
    const s = { ...(b.shadow ?? a.shadow!) };
    if (a.shadow && b.shadow) for (const k of Object.keys(s) as (keyof ShadowWindow)[]) if (k !== "maxMismatchRate") s[k] = a.shadow[k] + b.shadow[k];
    folded.shadow = s;
  }
  ws.splice(0, 2, folded);
}

/** The rings of several windows summed per key (the newest window's baseline and percent), in first-seen order. */
function sumRings(ws: readonly RolloutWindow[]): RingWindow[] {
  const by = new Map<string, RingWindow>();
  for (const w of ws) {
    for (const r of w.rings ?? []) {
      let x = by.get(r.key);
      if (!x) by.set(r.key, (x = { key: r.key, baseline: r.baseline, percent: r.percent, stable: zero(), canary: zero() }));
      x.baseline = r.baseline;
      x.percent = r.percent;
      addArm(x.stable, r.stable);
      addArm(x.canary, r.canary);
    }
  }
  return [...by.values()];
}

const zero = (): ArmWindow => ({ requests: 0, errors: 0, failedUsers: 0, timed: 0, slow: 0, timedMid: 0, slowMid: 0 });
function addArm(into: ArmWindow, a: ArmWindow): void {
  into.requests += a.requests;
  into.errors += a.errors;
  into.failedUsers += a.failedUsers;
  into.timed += a.timed;
  into.slow += a.slow;
  into.timedMid += a.timedMid;
  into.slowMid += a.slowMid;
}
const burnCounts = (s: ArmWindow, c: ArmWindow): BurnCounts => ({
  canaryRequests: c.requests,
  canaryErrors: c.failedUsers,
  stableRequests: s.requests,
  stableErrors: s.failedUsers,
});

function metric(
  key: MetricKey,
  r: TestReading,
  alpha: number,
  active: boolean,
  g: Guardrails,
  ledger: TestLedger,
  eventRatePerSec: number,
  judgeTraffic: boolean,
  picked: number,
  /** Distinct identities behind the canary's events, where minFailedUsers gates the test (errors, mismatch). */
  users: number,
): MetricReading {
  const rejectAt = Math.log(1 / alpha);
  const needed = Math.log(g.promotionOdds);
  const ratios = ledger.spec.promotionRatios;
  // The smallest ratio the traffic has shown it can confirm within stepTargetSec (sticky, see EngineState.pick).
  let pick = picked;
  const low = pick < 0 && judgeTraffic;
  // Low traffic: the gate waits for the largest ratio's evidence, however long it takes
  // (lowTraffic "advance" may also pass the step on time, see decideRollout). Before the
  // traffic is judged, nothing passes.
  if (low) pick = ratios.length - 1;
  const have = pick >= 0 ? r.promotionEvidence[pick]! : 0;
  const perSec = pick >= 0 ? r.promotionDriftPerEvent[pick]! * eventRatePerSec : 0;
  const bounded = active && pick >= 0 && have >= needed && r.stepLogRatio <= LEAN_EPSILON;
  const etaSec = bounded ? 0 : perSec > 0 ? Math.ceil(Math.max(0, needed - have) / perSec) : null;
  return {
    ...r,
    metric: key,
    alpha,
    rejectAt,
    rejects: active && r.logRatio >= rejectAt && users >= g.minFailedUsers,
    promotionRatio: pick >= 0 ? ratios[pick]! : null,
    promotionNeeded: needed,
    promotionHave: have,
    bounded,
    etaSec,
    active,
    lowTraffic: active && low,
    absolute: false,
  };
}

const NAMES: Record<MetricKey, string> = { errors: "failing users", latency: "tail latency", median: "median latency", mismatch: "mismatches" };
/** The tests as a shadow stage runs them: on the mirrored pairs. */
const SHADOW_NAMES: Record<MetricKey, string> = {
  errors: "failing users (paired: canary-only vs stable-only failures)",
  latency: "tail latency (paired: pairs with one side 1.5x slower)",
  median: "median latency (paired: pairs with one side slower)",
  mismatch: "mismatches",
};
const round1 = (x: number): number => Math.round(x * 10) / 10;
/** A rate as people read it: 12%, 3.1%, 0.25%. */
export function ratePct(x: number): string {
  const v = x * 100;
  const r = v >= 10 ? Math.round(v) : v >= 1 ? Math.round(v * 10) / 10 : Math.round(v * 100) / 100;
  return `${r}%`;
}

/** The decision on the rollout's evidence so far. Fail beats advance; no canary traffic holds. */
export function decideRollout(input: RolloutInput): RolloutDecision {
  const g = input.guardrails;
  const st = input.state;
  const elapsedMs = Math.max(0, input.now - input.stepStartedAt);
  const sched = schedule(g);
  const shadowStage = input.shadow !== undefined;
  const names = shadowStage ? SHADOW_NAMES : NAMES;
  const stageText = input.stage ?? (shadowStage ? "shadow" : `${input.weight}%`);
  // The events' canary share: the weight users are served at, or 50 for the mirrored pairs.
  const weight = shadowStage ? 50 : input.weight;
  const open = input.open && input.open.step === input.stepIndex ? input.open : undefined;
  const stepWs = (st.step === input.stepIndex ? st.stepWindows : []).concat(open ? [open] : []);
  const stable = zero();
  const canary = zero();
  const subStable = zero();
  const subCanary = zero();
  const stageShadow = { mirrored: 0, compared: 0, mismatches: 0, canaryErrors: 0 };
  const subStart = Math.min(input.now - elapsedMs / 12, stepWs.at(-1)?.start ?? input.now);
  for (const w of stepWs) {
    // A live step's windows never carry shadow arms, and a shadow step's never live ones (rollout-evidence.ts).
    addArm(stable, w.stable);
    addArm(canary, w.canary);
    if (w.start >= subStart) {
      addArm(subStable, w.stable);
      addArm(subCanary, w.canary);
    }
    if (w.shadow) {
      stageShadow.mirrored += w.shadow.mirrored;
      stageShadow.compared += w.shadow.compared;
      stageShadow.mismatches += w.shadow.mismatches;
      stageShadow.canaryErrors += w.shadow.canaryErrors;
    }
  }
  const comparable = weight < 100 && stable.requests > 0 && canary.requests > 0;
  // A shadow stage with latencyPairs 0 times no pair fairly (the user's stable request left
  // before the mirror): no latency test, by config, never by what the data show.
  const shadowLatencyOff = shadowStage && input.shadow!.latencyPairs <= 0;
  const latencyOn = input.latencySource !== "off" && !shadowLatencyOff;
  const medianOn = g.medianQuantile !== null && latencyOn;
  const ringKeys = input.rings?.keys ?? [];
  const ringPlan = ringKeys.length > 0;
  const metricDefs = input.metrics ?? [];
  const guardrailMetrics = metricDefs.filter((m) => m.def.mode === "guardrail").length;
  const alphas = rolloutAlphas(g, { shadowPlan: input.shadowPlan || shadowStage, medianOn, rings: ringKeys.length, guardrailMetrics });
  const mismatchAlpha = alphas.mismatch;
  const errorShare = alphas.errorShare;
  const errorAlpha = alphas.errors;
  const latencyAlpha = alphas.latency;
  const medianAlpha = alphas.median;
  const rolloutStart = st.ledgers.errors.firstStart ?? open?.start ?? input.now;
  const rolloutSec = Math.max(1, (input.now - rolloutStart) / 1000);
  // Event rates are judged once the step has run its minimum (before, they are too noisy to call traffic low).
  const judgeTraffic = st.trafficJudged;
  const openShadow = open?.shadow;
  const rolloutMismatchUsers = st.mismatchUsers + (openShadow?.mismatchUsers ?? 0);
  const rolloutMismatches = st.mismatches + (openShadow?.mismatches ?? 0);
  const rolloutCompared = st.compared + (openShadow?.compared ?? 0);
  const r0 = input.shadow?.maxMismatchRate ?? 0;
  const read = (key: MetricKey, active: boolean, alpha: number, users = Number.POSITIVE_INFINITY): MetricReading => {
    const r = readLedger(st.ledgers[key], open ? testWindow(open, key) : undefined, sched);
    const rate = (r.canaryEvents + r.stableEvents) / ledgerSec(st.ledgers[key], input.now, rolloutSec);
    return metric(key, r, alpha, active, g, st.ledgers[key], rate, judgeTraffic && st.judged[key], st.pick[key], users);
  };
  const errors = read("errors", comparable, errorAlpha, undefined);
  errors.rejects = errors.rejects && errors.canaryEvents >= g.minFailedUsers;
  const latency = read("latency", comparable && latencyOn, latencyAlpha);
  const median = read("median", comparable && medianOn, medianAlpha);
  const rings = readRings(input, stepWs, open, alphas.ringEach, latencyOn, medianOn, rolloutSec);
  // Metrics are judged on the rollout's moments wherever users are split between the arms
  // (not in a shadow stage, whose users are all stable's, nor at weight 100, where no user
  // joins stable any more and the arms would compare different times). They do not gate the
  // advance: a non-inferiority bound on a 3% conversion within 5% needs hundreds of
  // thousands of users per arm, hours at 1000 req/s, so a metric gate would hold every
  // step; a guardrail that shows the canary worse than tolerated fails the rollout instead.
  const metricsActive = !shadowStage && input.weight < 100;
  const metricAlpha = alphas.metricEach > 0 ? alphas.metricEach : g.alpha * METRIC_ALPHA_SHARE;
  const metricVerdicts = metricDefs.map((m) => testMetric(m, metricAlpha, metricsActive));
  const ringCanaryRequests = rings.reduce((a, r) => a + r.canary.requests, 0);
  const mismatchOn = shadowStage && mismatchAlpha > 0;
  // Off outside shadow stages; its alpha shown there is the share a plan with shadow stages gives it.
  const mismatch = read("mismatch", mismatchOn && r0 > 0 && rolloutCompared > 0, mismatchAlpha > 0 ? mismatchAlpha : errorShare * MISMATCH_ALPHA_SHARE, rolloutMismatchUsers);
  if (mismatchOn && r0 === 0) {
    // maxMismatchRate 0: no rate is tolerated, so no likelihood ratio (every alternative is
    // infinitely far): any mismatch from minFailedUsers distinct identities fails the stage;
    // fewer hold it (the operator decides); none lets it pass on the other tests.
    mismatch.active = rolloutCompared > 0;
    mismatch.rejects = rolloutMismatches > 0 && rolloutMismatchUsers >= g.minFailedUsers;
    mismatch.bounded = rolloutCompared > 0 && rolloutMismatches === 0;
    mismatch.absolute = mismatch.bounded;
    mismatch.etaSec = mismatch.bounded ? 0 : null;
    mismatch.lowTraffic = false;
  }
  // At weight 100 there is no stable arm, so nothing tells a canary outage from an incident
  // that hits everyone: the breaker is read (against the stable arm of the step before) but
  // never fails the rollout there; the step is the promotion's bake, the SLO alerts' job.
  // In a shadow stage it reads the pairs: the canary-only failure rate against the
  // stable-only one is the canary's excess failure rate on the same requests.
  let reference = stable;
  let subReference = subStable;
  if (weight >= 100 && stable.requests === 0 && st.stableBefore.length > 0) {
    reference = zero();
    for (const a of st.stableBefore) addArm(reference, a);
    subReference = reference;
  }
  const breaker = checkBurnRate(burnCounts(reference, canary), burnCounts(subReference, subCanary), g);
  const burnTrips = breaker.trips && canary.failedUsers >= g.minFailedUsers && weight < 100;
  // Mirroring is by method, not a cohort split of all requests: no sample ratio to check (weight 0 leaves it unchecked).
  const srm = checkSampleRatio(canary.requests, stable.requests, shadowStage ? 0 : input.weight, g.srmAlpha, g.srmTolerance);
  const canaryRequests = shadowStage ? stageShadow.compared : canary.requests + ringCanaryRequests;
  const minimumsMet = elapsedMs >= input.minDurationMs && canaryRequests >= input.minRequests;
  // Everyone else's tests gate the advance unless everyone else gets no canary (a ring stage at everyone 0%).
  const everyoneGates = !ringPlan || input.weight > 0;
  const tests = [errors, ...(latencyOn ? [latency] : []), ...(medianOn ? [median] : []), ...(mismatchOn ? [mismatch] : [])];
  const currentRing = rings.find((r) => r.current);
  // The current ring gates on errors and tail latency. Its median test fails the rollout but
  // holds no stage: exceedances of a median within a 5% tolerance, at a ring's small share of
  // the events, need far more traffic than a ring stage gets (it would call every staff stage low traffic).
  const ringGates = currentRing ? ringTests(currentRing, latencyOn, false) : [];
  const gates = [...(everyoneGates ? tests : []), ...ringGates];
  let lowTraffic = gates.some((t) => t.lowTraffic && !t.bounded);
  const mismatchRate = rolloutCompared > 0 ? rolloutMismatches / rolloutCompared : 0;
  const shadow: ShadowExplanation | undefined = shadowStage
    ? {
        ...stageShadow,
        rolloutMismatches,
        rolloutCompared,
        mismatchUsers: rolloutMismatchUsers,
        mismatchRate,
        maxMismatchRate: r0,
        mismatchRateBound: rolloutMismatches === 0 && rolloutCompared > 0 ? Math.log(g.promotionOdds) / rolloutCompared : null,
        referencePairs: canary.timed,
        latencyPairs: input.shadow!.latencyPairs,
      }
    : undefined;
  const explanation: RolloutExplanation = {
    elapsedMs,
    minimumsMet,
    weight: input.weight,
    step: input.stepIndex,
    ...(input.stage !== undefined ? { stage: input.stage } : {}),
    latencySource: shadowLatencyOff ? "off" : input.latencySource,
    stable,
    canary,
    errors,
    latency,
    median,
    mismatch,
    canaryFailedUsers: errors.canaryEvents,
    burn: { ...breaker, trips: burnTrips },
    srm,
    ...(shadow ? { shadow } : {}),
    ...(ringPlan ? { rings } : {}),
    ...(metricDefs.length > 0 ? { metrics: metricVerdicts, metricsNote: metricsNote(metricsActive, shadowStage) } : {}),
    lowTraffic,
    lowTrafficAdvance: null,
    needed: [],
    etaSec: null,
    blockers: [],
  };
  const onFail = g.onFail;
  const prefix = shadowStage ? `${stageText}: ` : "";
  if (canary.requests + ringCanaryRequests === 0) {
    explanation.blockers.push(
      shadowStage ? `${stageText}: no mirrored requests compared yet` : input.weight > 0 || ringPlan ? "no canary traffic yet" : "weight 0: the canary gets no traffic",
    );
    return { action: "hold", onFail, reason: `no data: ${explanation.blockers[0]}`, explanation };
  }
  const mismatchText = (): string =>
    `mismatch rate ${ratePct(mismatchRate)} (${rolloutMismatches} of ${rolloutCompared} compared, ${rolloutMismatchUsers} users)`;
  const failing = tests.filter((t) => t.rejects);
  const ringFailing = rings.flatMap((r) => ringTests(r, latencyOn, medianOn).filter((t) => t.rejects).map((t) => ({ r, t })));
  const metricFailing = metricVerdicts.filter((v) => v.mode === "guardrail" && v.rejects);
  if (failing.length > 0 || burnTrips || ringFailing.length > 0 || metricFailing.length > 0) {
    const parts = failing.map((t) =>
      t.metric === "mismatch"
        ? r0 === 0
          ? `${mismatchText()} with maxMismatchRate 0 (none tolerated; ${g.minFailedUsers} users fail it)`
          : `${mismatchText()} above maxMismatchRate ${ratePct(r0)}, per-rollout likelihood ratio e^${round1(t.logRatio)} >= e^${round1(t.rejectAt)} (alpha ${t.alpha})`
        : `${ringPlan ? "everyone else, " : ""}${failingText(names[t.metric], t)}`,
    );
    for (const { r, t } of ringFailing) parts.push(`ring ${r.key} (${r.baselineText}): ${failingText(names[t.metric], t)}`);
    for (const v of metricFailing) parts.push(metricFailingText(v));
    if (burnTrips) {
      parts.push(
        shadowStage
          ? `breaker: canary-only failures of the mirrored requests burn the error budget >= ${breaker.threshold}x over stable-only ones on the stage and its last 1/12`
          : `breaker: canary burns the error budget (failing users per request) >= ${breaker.threshold}x over stable on the step and its last 1/12`,
      );
    }
    explanation.blockers.push("failed");
    const verb = onFail === "rollback" ? "rollback" : onFail === "pause" ? "pause" : "advisory: would roll back";
    return { action: "fail", onFail, reason: `${verb}: ${prefix}${parts.join("; ")}`, explanation };
  }
  const blockers: string[] = [];
  if (elapsedMs < input.minDurationMs) blockers.push(`step ran ${Math.floor(elapsedMs / 1000)} of ${Math.ceil(input.minDurationMs / 1000)} s`);
  if (canaryRequests < input.minRequests) blockers.push(shadowStage ? `${canaryRequests} of ${input.minRequests} compared mirrors` : `${canary.requests} of ${input.minRequests} canary requests`);
  if (srm.mismatch) blockers.push(`sample-ratio mismatch: canary share ${round1(srm.observedShare * 100)}% vs weight ${input.weight}%`);
  // The absolute routes (as in v1): the canary's failing-identity rate is within the SLO, or
  // its slow share within 1 - quantile, at the promotion's confidence (z = sqrt(2 ln K)).
  // In a shadow stage they read the pairs: canary-only failures per mirror within the SLO,
  // pairs with the canary 1.5x slower within 1 - quantile.
  const zAbs = Math.sqrt(2 * Math.log(g.promotionOdds));
  if (!errors.bounded && canary.requests > 0 && wilsonInterval(canary.failedUsers, canary.requests, zAbs).upper <= g.sloErrorRate && errors.stepLogRatio <= LEAN_EPSILON) {
    errors.bounded = true;
    errors.absolute = true;
  }
  // The current ring's failing-user rate within the SLO over the step: the same absolute route.
  if (currentRing && !currentRing.errors.bounded && currentRing.canary.requests > 0 && currentRing.errors.stepLogRatio <= LEAN_EPSILON && wilsonInterval(currentRing.canary.failedUsers, currentRing.canary.requests, zAbs).upper <= g.sloErrorRate) {
    currentRing.errors.bounded = true;
    currentRing.errors.absolute = true;
  }
  if (latencyOn && !latency.bounded && canary.timed > 0 && wilsonInterval(canary.slow, canary.timed, zAbs).upper <= 1 - g.latencyQuantile) {
    latency.bounded = true;
    latency.absolute = true;
  }
  // Paired latencies can tie (both sides within the timer floor): then the median signs
  // carry no events and the relative route never fills. The absolute route: the canary is
  // slower than stable (by the median margin) in at most 1 - medianQuantile of the pairs.
  if (shadowStage && medianOn && !median.bounded && canary.timedMid > 0 && median.stepLogRatio <= LEAN_EPSILON && wilsonInterval(canary.slowMid, canary.timedMid, zAbs).upper <= 1 - (g.medianQuantile ?? 0.5)) {
    median.bounded = true;
    median.absolute = true;
  }
  lowTraffic = gates.some((t) => t.lowTraffic && !t.bounded);
  explanation.lowTraffic = lowTraffic;
  let etaSec: number | null = 0;
  if (weight < 100) {
    if (!comparable && everyoneGates) blockers.push("no stable traffic to compare with");
    // A ring stage advances on its ring's evidence: none yet holds it, whatever everyone else shows.
    if (input.rings?.current !== undefined && !currentRing) blockers.push(`ring ${input.rings.current}: no traffic yet`);
    // Paired signs need no threshold: only live stages wait for the first stable window.
    if (!shadowStage && input.latencySource === "calibrating" && st.closed === 0) blockers.push("latency thresholds still calibrating on the first stable window");
    for (const t of gates) {
      if (t.bounded) continue;
      const ringText = ringGates.includes(t) ? `ring ${currentRing!.key} (${currentRing!.baselineText}), ` : ringPlan ? "everyone else, " : "";
      let text: string;
      if (t.metric === "mismatch" && r0 === 0) {
        text = `mismatches: ${mismatchText()} with maxMismatchRate 0 (none tolerated; fails at ${g.minFailedUsers} users, the stage waits for an operator)`;
      } else {
        const ratio = t.promotionRatio === null ? "any ratio" : t.metric === "mismatch" ? `a rate of ${ratePct(oddsRate(r0, t.promotionRatio))}` : `${round1(t.promotionRatio)}x`;
        const eta = t.etaSec === null ? "no estimate yet" : `about ${t.etaSec} s at current traffic`;
        const what = t.metric === "mismatch" ? `mismatches (${mismatchText()}, maxMismatchRate ${ratePct(r0)})` : names[t.metric];
        text = `${ringText}${what}: evidence against ${ratio} is e^${round1(t.promotionHave)} of e^${round1(t.promotionNeeded)} needed (${eta})`;
      }
      explanation.needed.push(text);
      blockers.push(text);
      etaSec = etaSec === null || t.etaSec === null ? null : Math.max(etaSec, t.etaSec);
    }
  }
  explanation.etaSec = etaSec;
  // Low traffic, advance mode: on time, on the canary's absolute error rate.
  if (blockers.length > 0 && lowTraffic && g.lowTraffic.mode === "advance" && elapsedMs >= g.lowTraffic.afterSec * 1000) {
    const upper = wilsonInterval(canary.failedUsers, canary.requests, 1.645).upper;
    const onlyEvidence = blockers.every((b) => explanation.needed.includes(b));
    const noLean = gates.every((t) => t.stepLogRatio <= LEAN_EPSILON);
    // A shadow stage with r0 = 0 never advances on time past a mismatch.
    const noZeroToleranceMismatch = !(mismatchOn && r0 === 0 && rolloutMismatches > 0);
    if (onlyEvidence && noLean && noZeroToleranceMismatch && minimumsMet && !srm.mismatch && upper <= g.lowTraffic.maxErrorRate) {
      explanation.lowTrafficAdvance =
        `low traffic: ${prefix}advanced on time after ${Math.round(elapsedMs / 1000)} s; guarantee: canary failing-user rate below ${round1(upper * 100)}% ` +
        `(<= ${g.lowTraffic.maxErrorRate * 100}%) at 95%, and no test leaning to regression; no relative bound was established`;
      return { action: "advance", onFail, reason: `advance (${explanation.lowTrafficAdvance})`, explanation };
    }
  }
  explanation.blockers = blockers;
  if (blockers.length > 0) return { action: "hold", onFail, reason: `hold${lowTraffic ? " (low traffic)" : ""}: ${prefix}${blockers.join("; ")}`, explanation };
  const stated = gates
    .map((t) => {
      if (ringGates.includes(t)) {
        const what = `ring ${currentRing!.key} ${names[t.metric]}`;
        return t.absolute ? `${what} within the absolute bound (${currentRing!.baselineText})` : `${what}: ${round1(t.promotionRatio ?? 0)}x ruled out (odds ${g.promotionOdds}; ${currentRing!.baselineText})`;
      }
      if (t.metric === "mismatch") {
        return r0 === 0
          ? `mismatches: none in ${rolloutCompared} compared (maxMismatchRate 0; rates above ${ratePct(shadow?.mismatchRateBound ?? 1)} ruled out at odds ${g.promotionOdds})`
          : `mismatches: ${mismatchText()}, a rate of ${ratePct(oddsRate(r0, t.promotionRatio ?? 0))} ruled out (odds ${g.promotionOdds}; maxMismatchRate ${ratePct(r0)})`;
      }
      const who = ringPlan ? "everyone else " : "";
      return t.absolute ? `${who}${names[t.metric]} within the absolute bound` : `${who}${names[t.metric]}: ${round1(t.promotionRatio ?? 0)}x ruled out (odds ${g.promotionOdds})`;
    })
    .join("; ");
  // Rings that do not gate still had their say: none failed.
  const ringNote = rings.filter((r) => !r.current).map((r) => `ring ${r.key}: no regression (${r.baselineText})`);
  const volume = shadowStage ? `${stageShadow.compared} compared mirrors` : `${canary.requests} canary requests`;
  const latencyNote = shadowLatencyOff ? "; latency not tested (shadow.latencyPairs 0: no reference pairs)" : "";
  const ringsNote = ringNote.length > 0 && weight < 100 ? `; ${ringNote.join("; ")}` : "";
  const metricsText = metricDefs.length > 0 ? `; ${metricsAdvanceText(metricVerdicts, metricsActive)}` : "";
  return { action: "advance", onFail, reason: `advance: ${prefix}${Math.round(elapsedMs / 1000)} s, ${volume}; ${weight >= 100 ? "weight 100: breaker only" : stated}${ringsNote}${latencyNote}${metricsText}`, explanation };
}

function metricsNote(active: boolean, shadowStage: boolean): string {
  const when = active
    ? "judged on the rollout's users so far"
    : shadowStage
      ? "not judged in a shadow stage (its users are all served by stable)"
      : "not judged at weight 100 (no user joins stable any more)";
  return (
    `metrics: ${when}; a guardrail whose interval shows the canary worse than tolerated fails the rollout at any stage, ` +
    "but metrics do not gate the advance (ruling out a small drop of a low base-rate conversion can take hours)"
  );
}

/** A metric's means as people read them: a conversion as a percentage of users, others to 3 significant digits. */
function metricMeans(v: MetricTestResult): string {
  const f = (x: number | null): string => (x === null ? "-" : v.kind === "conversion" ? pct3(x) : sig3(x));
  if (v.kind === "conversion") return `canary ${f(v.canary.mean)} vs stable ${f(v.stable.mean)} of users converted`;
  if (v.kind === "mean") return `canary mean ${f(v.canary.mean)} vs stable ${f(v.stable.mean)} per user`;
  return `canary ${f(v.canary.mean)} vs stable ${f(v.stable.mean)} events per user`;
}

const sig3 = (x: number): string => String(Number(x.toPrecision(3)));
const pct3 = (x: number): string => `${Number((x * 100).toPrecision(3))}%`;
/** A relative change with its sign: -13.6%, +4.2% (digits: decimals). */
function signedPct(x: number, digits: number): string {
  const v = Number((x * 100).toFixed(digits));
  return `${v > 0 ? "+" : ""}${v}%`;
}

/** "(-13.6%, interval -21% to -6%)" */
function metricDifferenceText(v: MetricTestResult): string {
  const rel = v.relativeDifference === null ? "no stable mean" : signedPct(v.relativeDifference, 1);
  const iv = v.interval === null ? "interval unbounded yet" : `interval ${signedPct(v.interval.low, 0)} to ${signedPct(v.interval.high, 0)}`;
  return `(${rel}, ${iv})`;
}

export function metricFailingText(v: MetricTestResult): string {
  const tolerated = signedPct(v.better === "higher" ? -v.tolerance : v.tolerance, 0);
  return `metric ${v.name}: ${metricMeans(v)} ${metricDifferenceText(v)}, worse than the tolerated ${tolerated}`;
}

function metricsAdvanceText(vs: readonly MetricTestResult[], active: boolean): string {
  if (!active) return "metrics not judged at this stage";
  const each = vs.map((v) => `${v.name}${v.mode === "observe" ? " (observe)" : ""} ${metricDifferenceText(v)}`);
  return `metrics (not a gate): ${each.join(", ")}`;
}

/** Seconds of a ledger's traffic (since its first window that could carry evidence), for event rates. */
const ledgerSec = (l: TestLedger, now: number, rolloutSec: number): number => (l.evidenceStart === undefined ? rolloutSec : Math.max(1, (now - l.evidenceStart) / 1000));

function failingText(name: string, t: MetricReading): string {
  return `${name}: ${t.canaryEvents} canary / ${t.stableEvents} stable events, per-rollout likelihood ratio e^${round1(t.logRatio)} >= e^${round1(t.rejectAt)} (alpha ${t.alpha}; strongest since ${t.strongestSegmentStart === null ? "start" : `segment ${t.strongestSegment}`})`;
}

/** A ring's tests that run (latency and median as the route's do). */
function ringTests(r: RingExplanation, latencyOn: boolean, medianOn: boolean): MetricReading[] {
  return [r.errors, ...(latencyOn ? [r.latency] : []), ...(medianOn ? [r.median] : [])];
}

/**
 * Every ring's tests: the rollout's ledgers (closed windows) with the open window on top,
 * each metric at its share of the ring alpha. A ring seen only in the open window is read
 * from a fresh state. The ring's step totals come with it (breaker-free: a ring's canary
 * is judged by its tests; the burn-rate breaker reads everyone else).
 */
function readRings(
  input: RolloutInput,
  stepWs: readonly RolloutWindow[],
  open: RolloutWindow | undefined,
  alphas: Record<RingMetric, number>,
  latencyOn: boolean,
  medianOn: boolean,
  rolloutSec: number,
): RingExplanation[] {
  const keys = input.rings?.keys ?? [];
  if (keys.length === 0) return [];
  const g = input.guardrails;
  const st = input.state;
  const sched = schedule(g);
  const stepRings = new Map(sumRings(stepWs).map((r) => [r.key, r]));
  const openAll = open ? allStable(open) : undefined;
  const out: RingExplanation[] = [];
  for (const key of new Set([...keys.filter((k) => st.rings[k] || stepRings.has(k)), ...Object.keys(st.rings).filter((k) => keys.includes(k))])) {
    const openRing = open?.rings?.find((r) => r.key === key);
    const rs = st.rings[key] ?? (openRing ? createRingState(g, openRing) : undefined);
    if (!rs) continue;
    const step = stepRings.get(key);
    const baseline = openRing?.baseline ?? rs.baseline;
    const percent = openRing?.percent ?? rs.percent;
    const read = (m: RingMetric, active: boolean): MetricReading => {
      const r = readLedger(rs.ledgers[m], openRing ? ringTestWindow(open!, openRing, m, openAll!, g) : undefined, sched);
      const rate = (r.canaryEvents + r.stableEvents) / ledgerSec(rs.ledgers[m], input.now, rolloutSec);
      const reading = metric(m, r, alphas[m], active, g, rs.ledgers[m], rate, rs.judged[m], rs.pick[m], Number.POSITIVE_INFINITY);
      // Failing identities of the ring: never fewer than minFailedUsers distinct ones fail it.
      if (m === "errors") reading.rejects = reading.rejects && reading.canaryEvents >= g.minFailedUsers;
      return reading;
    };
    const active = rs.ledgers.errors.windows > 0 || (step?.canary.requests ?? 0) > 0;
    out.push({
      key,
      current: input.rings?.current === key,
      baseline,
      percent,
      baselineText: baselineText(baseline, percent, g.allBaselineTolerance),
      stable: step?.stable ?? zero(),
      canary: step?.canary ?? zero(),
      errors: read("errors", active),
      latency: read("latency", active && latencyOn),
      median: read("median", active && medianOn),
    });
  }
  return out;
}

/** The mismatch rate whose odds are m times r0's: what a promotion ratio m rules out. */
export function oddsRate(r0: number, m: number): number {
  const odds = (r0 / (1 - r0)) * m;
  return odds / (1 + odds);
}
