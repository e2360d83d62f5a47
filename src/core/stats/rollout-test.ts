// The per-rollout sequential test (engine v2): one always-valid test per metric whose
// evidence carries across every step of a rollout, with the step change modelled (each
// window is judged at its own canary share), and with restarts mixed in so a regression
// that begins late is not diluted by the healthy history before it.
//
// The statistic. Given a "bad event" (a user's first failure, or a request slower than a
// threshold), it fell on the canary with probability theta(s, m) = s*m / (s*m + 1 - s),
// s the canary's share of the window, m the canary/stable rate ratio. For an alternative
// m against the tolerance m0 a window adds c*ln(m/m0) + n*ln(base/d) to the log-likelihood
// ratio (c canary events, n events in all, base = s*m0 + 1 - s, d = s*m + 1 - s). Under
// the null (m <= m0), the product over windows is a nonnegative supermartingale whatever
// the share does from window to window, because each window's share is fixed before its
// events are seen (the configured weight, or the timed-request split).
//
// Restarts. Segment k of the rollout starts at a stopping time (the rollout's first
// window, each step's first window, and every restartMs within a step); X_k is 1 before
// its start and the mixture likelihood ratio from its start onward after. Each X_k is a
// nonnegative supermartingale with X_k(0) = 1, so is M = sum_k pi_k * X_k for prior
// weights pi_k summing to 1; Ville's inequality gives P(sup_t M_t >= 1/alpha) <= alpha:
// the false-rollback probability of the WHOLE rollout is at most alpha, however many steps
// it has and however long it runs. A late regression is judged mostly by the segment that
// started just before it, at the price ln(1/pi_k) in evidence.
//
// Promotion reads the same ledger the other way: the rollout's evidence favours m0 over a
// named ratio m_adv by promotionOdds K. By Ville again, a canary whose true ratio is m_adv
// or worse passes that gate with probability at most 1/K over the whole rollout.
//
// Pure: no clock, no randomness. The ledger is mutated in place by appendWindow (it is
// the caller's memo of closed windows, rebuilt from windows by whoever has none).

export interface TestSpec {
  /** m0: ratios up to this are never rolled back for. */
  tolerance: number;
  /** Alternatives as multiples of m0, with their prior weights. */
  grid: readonly number[];
  weights: readonly number[];
  /** Ratios (absolute, not multiples of m0) promotion may be stated against, smallest first. */
  promotionRatios: readonly number[];
}

/** Counts of one window for one metric. */
export interface TestWindow {
  /** Window start, ms. */
  start: number;
  step: number;
  canaryEvents: number;
  stableEvents: number;
  /** Canary share the events are judged at (0..1); outside (0, 1) the window carries no evidence. */
  share: number;
}

interface Segment {
  start: number;
  step: number;
  logPrior: number;
  /** Cumulative grid sums at the segment's start. */
  at: Float64Array;
}

export interface TestLedger {
  spec: TestSpec;
  logWeights: Float64Array;
  logGrid: Float64Array;
  /** Cumulative ln LR per grid alternative over closed windows. */
  sums: Float64Array;
  /** Cumulative ln L(m_adv)/L(m0) per promotion ratio. */
  promo: Float64Array;
  /** The newest segments, kept one by one (the strongest is named in explanations); at most `keep`. */
  segments: Segment[];
  /**
   * Older segments folded into one term per grid alternative: ln sum_k pi_k exp(-at_k[j]).
   * Exact, because the mixture is sum_j w_j exp(sums_j) sum_k pi_k exp(-at_k[j]): a long
   * step (a manual rollout runs for days, one segment per restartSec) costs O(grid) memory
   * and time per read, not O(segments).
   */
  folded: Float64Array;
  foldedCount: number;
  keep: number;
  /** Prior mass of segments that have started. */
  startedMass: number;
  /** Grid and promotion sums at the current step's start. */
  stepAt: Float64Array;
  stepPromoAt: Float64Array;
  step: number;
  stepStart: number;
  canaryEvents: number;
  stableEvents: number;
  /** Expected ln-evidence per event (KL under the null, per promotion ratio) summed over windows: for ETAs. */
  promoDrift: Float64Array;
  windows: number;
  firstStart: number | undefined;
  /**
   * Start of the first window whose share could carry evidence (in (0, 1)): where the
   * ledger's traffic starts (a ring's ledger, or everyone else's after ring stages at 0%).
   */
  evidenceStart: number | undefined;
}

export interface Schedule {
  /** Restart the test within a step this often, ms. */
  restartMs: number;
}

/** Prior mass on the rollout's first segment (a regression present from the start, the common case). */
export const FIRST_SEGMENT_PRIOR = 0.7;
const LOG_FIRST = Math.log(FIRST_SEGMENT_PRIOR);
const LOG_REST = Math.log(1 - FIRST_SEGMENT_PRIOR);

/** pi_0 = 0.7, pi_k = 0.3/(k(k+1)) for k >= 1: sums to 1. */
export function segmentLogPrior(k: number): number {
  return k === 0 ? LOG_FIRST : LOG_REST - Math.log(k * (k + 1));
}

/** Segments kept one by one before the oldest are folded (rollout-test.ts TestLedger.folded). */
export const KEPT_SEGMENTS = 256;

export function createLedger(spec: TestSpec, keep = KEPT_SEGMENTS): TestLedger {
  const total = spec.weights.reduce((a, b) => a + b, 0);
  return {
    spec,
    logWeights: Float64Array.from(spec.weights, (w) => Math.log(w / total)),
    logGrid: Float64Array.from(spec.grid, Math.log),
    sums: new Float64Array(spec.grid.length),
    promo: new Float64Array(spec.promotionRatios.length),
    segments: [],
    folded: new Float64Array(spec.grid.length).fill(Number.NEGATIVE_INFINITY),
    foldedCount: 0,
    keep,
    startedMass: 0,
    stepAt: new Float64Array(spec.grid.length),
    stepPromoAt: new Float64Array(spec.promotionRatios.length),
    step: -1,
    stepStart: 0,
    canaryEvents: 0,
    stableEvents: 0,
    promoDrift: new Float64Array(spec.promotionRatios.length),
    windows: 0,
    firstStart: undefined,
    evidenceStart: undefined,
  };
}

/** ln theta(s,m1)/theta(s,m0) ... as one window's term: c ln(m/m0) + n ln(base/d). */
function term(c: number, n: number, s: number, m0: number, m: number): number {
  return c * Math.log(m / m0) + n * Math.log((s * m0 + 1 - s) / (s * m + 1 - s));
}

/** KL(theta0 || theta1) per event: the expected ln L(m0)/L(m) per event under the null. */
export function nullDriftPerEvent(s: number, m0: number, m: number): number {
  if (!(s > 0 && s < 1)) return 0;
  const t0 = (s * m0) / (s * m0 + 1 - s);
  const t1 = (s * m) / (s * m + 1 - s);
  return t0 * Math.log(t0 / t1) + (1 - t0) * Math.log((1 - t0) / (1 - t1));
}

function startsSegment(l: TestLedger, w: TestWindow, schedule: Schedule): boolean {
  const last = l.segments.at(-1);
  return last === undefined || w.step !== last.step || w.start - last.start >= schedule.restartMs;
}

/** Adds a closed window to the ledger (in place). Windows must come in start order. */
export function appendWindow(l: TestLedger, w: TestWindow, schedule: Schedule): void {
  l.firstStart ??= w.start;
  if (w.step !== l.step) {
    l.step = w.step;
    l.stepStart = w.start;
    l.stepAt.set(l.sums);
    l.stepPromoAt.set(l.promo);
  }
  if (startsSegment(l, w, schedule)) {
    const k = l.foldedCount + l.segments.length;
    l.segments.push({ start: w.start, step: w.step, logPrior: segmentLogPrior(k), at: Float64Array.from(l.sums) });
    l.startedMass += Math.exp(segmentLogPrior(k));
    if (l.segments.length > l.keep) fold(l, l.segments.shift()!);
  }
  l.windows++;
  if (w.share > 0 && w.share < 1) l.evidenceStart ??= w.start;
  const n = w.canaryEvents + w.stableEvents;
  if (!(w.share > 0 && w.share < 1) || n === 0) return;
  const { spec } = l;
  for (let j = 0; j < spec.grid.length; j++) l.sums[j]! += term(w.canaryEvents, n, w.share, spec.tolerance, spec.tolerance * spec.grid[j]!);
  for (let j = 0; j < spec.promotionRatios.length; j++) {
    l.promo[j]! += term(w.canaryEvents, n, w.share, spec.tolerance, spec.promotionRatios[j]!);
    l.promoDrift[j]! += n * nullDriftPerEvent(w.share, spec.tolerance, spec.promotionRatios[j]!);
  }
  l.canaryEvents += w.canaryEvents;
  l.stableEvents += w.stableEvents;
}

function fold(l: TestLedger, seg: Segment): void {
  for (let j = 0; j < l.folded.length; j++) l.folded[j] = logAddExp(l.folded[j]!, seg.logPrior - seg.at[j]!);
  l.foldedCount++;
}

function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

function logSumExp(xs: ArrayLike<number>, count = xs.length): number {
  let max = -Infinity;
  for (let i = 0; i < count; i++) if (xs[i]! > max) max = xs[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(xs[i]! - max);
  return max + Math.log(sum);
}

const scratchGrid = new Float64Array(64);
const scratchSeg = new Float64Array(4096);

export interface TestReading {
  /** ln M: the change-point mixture likelihood ratio over the rollout. */
  logRatio: number;
  /** Segment (0-based) that contributes most to M among the newest KEPT_SEGMENTS, and when it started (-1 / null: none). */
  strongestSegment: number;
  strongestSegmentStart: number | null;
  /** ln of the mixture ratio over the current step alone (no restarts): > 0 means the step's data lean to regression. */
  stepLogRatio: number;
  /** Per promotion ratio: ln L(m0)/L(m_adv) over the rollout (>= ln K passes). */
  promotionEvidence: number[];
  /** Per promotion ratio: ln L(m0)/L(m_adv) expected per event under the null, at the shares seen (for ETAs). */
  promotionDriftPerEvent: number[];
  canaryEvents: number;
  stableEvents: number;
  segments: number;
}

/**
 * Reads the ledger with an optional open (not yet closed) window on top, without
 * changing the ledger. The open window counts as if closed now.
 */
export function readLedger(l: TestLedger, open: TestWindow | undefined, schedule: Schedule): TestReading {
  const { spec } = l;
  const G = spec.grid.length;
  const sums = Float64Array.from(l.sums);
  const promo = Float64Array.from(l.promo);
  const drift = Float64Array.from(l.promoDrift);
  let canaryEvents = l.canaryEvents;
  let stableEvents = l.stableEvents;
  let stepAt = l.stepAt;
  let virtual: Segment | undefined;
  if (open) {
    if (open.step !== l.step) {
      stepAt = Float64Array.from(l.sums);
    }
    if (startsSegment(l, open, schedule)) {
      const k = l.foldedCount + l.segments.length;
      virtual = { start: open.start, step: open.step, logPrior: segmentLogPrior(k), at: Float64Array.from(l.sums) };
    }
    const n = open.canaryEvents + open.stableEvents;
    if (open.share > 0 && open.share < 1 && n > 0) {
      for (let j = 0; j < G; j++) sums[j]! += term(open.canaryEvents, n, open.share, spec.tolerance, spec.tolerance * spec.grid[j]!);
      for (let j = 0; j < promo.length; j++) {
        promo[j]! += term(open.canaryEvents, n, open.share, spec.tolerance, spec.promotionRatios[j]!);
        drift[j]! += n * nullDriftPerEvent(open.share, spec.tolerance, spec.promotionRatios[j]!);
      }
      canaryEvents += open.canaryEvents;
      stableEvents += open.stableEvents;
    }
  }
  const segments = virtual ? [...l.segments, virtual] : l.segments;
  let started = 0;
  let best = -Infinity;
  let bestIndex = -1;
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!;
    for (let j = 0; j < G; j++) scratchGrid[j] = l.logWeights[j]! + sums[j]! - seg.at[j]!;
    const v = seg.logPrior + logSumExp(scratchGrid, G);
    scratchSeg[k] = v;
    if (v > best) {
      best = v;
      bestIndex = k;
    }
    started += Math.exp(seg.logPrior);
  }
  let count = segments.length;
  if (l.foldedCount > 0) {
    for (let j = 0; j < G; j++) scratchGrid[j] = l.logWeights[j]! + sums[j]! + l.folded[j]!;
    scratchSeg[count++] = logSumExp(scratchGrid, G);
    started = l.startedMass + (virtual ? Math.exp(virtual.logPrior) : 0);
  }
  const unstarted = 1 - started;
  if (unstarted > 1e-12) scratchSeg[count++] = Math.log(unstarted); // segments to come sit at 1
  const logRatio = count > 0 ? logSumExp(scratchSeg, count) : 0;
  for (let j = 0; j < G; j++) scratchGrid[j] = l.logWeights[j]! + sums[j]! - stepAt[j]!;
  const stepLogRatio = logSumExp(scratchGrid, G);
  const events = canaryEvents + stableEvents;
  return {
    logRatio,
    strongestSegment: bestIndex < 0 ? -1 : l.foldedCount + bestIndex,
    strongestSegmentStart: bestIndex >= 0 ? segments[bestIndex]!.start : null,
    stepLogRatio,
    promotionEvidence: Array.from(promo, (p) => -p),
    promotionDriftPerEvent: Array.from(drift, (d) => (events > 0 ? d / events : 0)),
    canaryEvents,
    stableEvents,
    segments: l.foldedCount + segments.length,
  };
}
