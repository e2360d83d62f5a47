// Mixture sequential probability ratio test (mSPRT) on the share of "bad events"
// (errors, or requests slower than a frozen threshold) that land on the canary. Given an
// event, it came from the canary with probability theta = s*m / (s*m + 1 - s), where s is
// the canary's observed request share and m the canary/stable event-rate ratio. The null
// is m <= m0 (the tolerance); the alternative is a weighted mixture over m = m0 * GRID.
// The mixture ratio is a nonnegative supermartingale under the null, so rejecting when it
// reaches 1/alpha keeps the false-rollback rate below alpha however often it is looked
// at (Ville's inequality). Promotion reads the same ratio the other way: when it has
// fallen to 1/K the data favour m0 over every regression in the grid by K on average (a
// Bayes factor, not a frequentist bound; what is given up is a coverage guarantee for
// "advance"). Conditioning on the event count makes the test immune to incidents that
// hit both arms alike. Events are assumed independent; bursts (retries) break that, so
// the log-ratio is divided by a dispersion index estimated from the stable arm (>= 1, so
// it only shrinks the rejection region and the guarantee under independence stands).

/** Alternatives, as multiples of the tolerance m0. */
export const MIXTURE_GRID: readonly number[] = [1.25, 1.5, 2, 3, 5, 10];
/**
 * Prior weight of each alternative (normalised below). The weight sits where detection is
 * slow and matters, 1.5x to 2x: a 5x or 10x regression piles up evidence so fast that a
 * smaller weight costs it a second at most, while every nat of prior taken off 2x costs
 * it about ten seconds at 1000 req/s and a 5% canary (scripts/bench/decision-sim.ts).
 */
export const MIXTURE_WEIGHTS: readonly number[] = [1, 3, 3, 1.5, 1, 0.5];

const LOG_GRID = MIXTURE_GRID.map(Math.log);
const WEIGHT_SUM = MIXTURE_WEIGHTS.reduce((a, b) => a + b, 0);
const LOG_WEIGHTS = MIXTURE_WEIGHTS.map((w) => Math.log(w / WEIGHT_SUM));
/** Scratch for the per-alternative terms: this runs every second per rollout, and in the simulator millions of times. */
const scratch = new Float64Array(MIXTURE_GRID.length);

/** Probability that an event is the canary's, for share s and rate ratio m. */
export function canaryEventProbability(share: number, ratio: number): number {
  return (share * ratio) / (share * ratio + 1 - share);
}

/**
 * ln of the mixture likelihood ratio (alternatives m0*GRID against m0), divided by the
 * dispersion index. 0 (no evidence) when the share leaves no comparison or nothing happened.
 * Increasing in canaryEvents and decreasing in stableEvents.
 */
export function mixtureLogRatio(
  canaryEvents: number,
  stableEvents: number,
  share: number,
  tolerance: number,
  dispersion = 1,
): number {
  const n = canaryEvents + stableEvents;
  if (!(share > 0 && share < 1) || n === 0) return 0;
  const base = share * tolerance + 1 - share;
  let max = -Infinity;
  for (let j = 0; j < MIXTURE_GRID.length; j++) {
    const alternative = tolerance * MIXTURE_GRID[j]!;
    // ln(theta1/theta0) = ln(r) + ln(base/d1) and ln((1-theta1)/(1-theta0)) = ln(base/d1)
    const term = (canaryEvents * LOG_GRID[j]! + n * Math.log(base / (share * alternative + 1 - share))) / dispersion + LOG_WEIGHTS[j]!;
    scratch[j] = term;
    if (term > max) max = term;
  }
  let sum = 0;
  for (let j = 0; j < scratch.length; j++) sum += Math.exp(scratch[j]! - max);
  return max + Math.log(sum);
}

/** Point estimate of m; null when the stable arm has no events to compare with. */
export function estimateRatio(canaryEvents: number, stableEvents: number, share: number): number | null {
  if (stableEvents === 0 || !(share > 0 && share < 1)) return canaryEvents === 0 && share > 0 && share < 1 ? 0 : null;
  return (canaryEvents * (1 - share)) / (stableEvents * share);
}

/** Pseudo-observations at dispersion 1: keeps a few lucky windows from deflating the test. */
const PRIOR_TERMS = 4;
/** One incident edge (a jump shared by both arms) may add at most this much to the sum. */
const TERM_CAP = 25;

/** Running sum for dispersionIndex: one term per pair of neighbouring windows. */
export interface DispersionSum {
  sum: number;
  terms: number;
}

/**
 * Adds the pair (earlier window, later window) of the stable arm's events and exposure.
 * Each pair is compared with its own local rate, so a slow drift does not read as
 * dispersion; a jump (an incident's edge) counts once and is capped.
 */
export function addDispersionPair(acc: DispersionSum, eventsBefore: number, exposureBefore: number, events: number, exposure: number): void {
  const total = eventsBefore + events;
  if (total === 0 || exposureBefore <= 0 || exposure <= 0) return;
  const p = exposure / (exposureBefore + exposure);
  const residual = events - total * p;
  acc.sum += Math.min(TERM_CAP, (residual * residual) / (total * p * (1 - p)));
  acc.terms++;
}

/**
 * Index of dispersion (variance / Poisson variance) of the stable arm's events over time
 * windows, shrunk towards 1, less one standard error (so sampling noise alone does not
 * slow the test down), and at least floor. The canary is left out on purpose: the
 * index must not move when canary events are added, or more canary errors could make
 * the engine more lenient.
 */
export function dispersionIndex(acc: DispersionSum, floor = 1): number {
  const terms = acc.terms + PRIOR_TERMS;
  return Math.max(floor, (acc.sum + PRIOR_TERMS) / terms - Math.sqrt(2 / terms));
}

/** active: the test runs; no-comparison: one arm has no traffic; calibrating/off: no latency threshold. */
export type TestStatus = "active" | "no-comparison" | "calibrating" | "off";

export interface TestInput {
  status: TestStatus;
  canaryEvents: number;
  stableEvents: number;
  /** Requests the events are counted over, per arm; their split is the share s. */
  canaryExposure: number;
  stableExposure: number;
  tolerance: number;
  dispersion: number;
  alpha: number;
  advanceFactor: number;
}

/** One mSPRT (errors, or latency exceedances) with its inputs, statistic and thresholds. */
export interface TestSummary {
  status: TestStatus;
  canaryEvents: number;
  stableEvents: number;
  /** Canary share of the requests compared: the event share expected with no regression. */
  expectedShare: number;
  /** Canary share of the events. */
  observedShare: number;
  /** Estimated canary/stable event-rate ratio; null when stable has no events. */
  ratio: number | null;
  tolerance: number;
  /** Variance inflation the log-ratio was divided by (>= 1). */
  dispersion: number;
  /** ln of the mixture likelihood ratio; 0 means no evidence either way. */
  logRatio: number;
  alpha: number;
  /** Roll back at logRatio >= rejectAt = ln(1/alpha). */
  rejectAt: number;
  /** Bounded (may advance) at logRatio <= advanceAt = -ln(advanceFactor). */
  advanceAt: number;
  rejects: boolean;
  bounded: boolean;
}

/** Runs the test on one metric's counts and reads it both ways: reject, or bounded. */
export function runMsprt(t: TestInput): TestSummary {
  const exposure = t.canaryExposure + t.stableExposure;
  const events = t.canaryEvents + t.stableEvents;
  const expectedShare = exposure > 0 ? t.canaryExposure / exposure : 0;
  const active = t.status === "active" && expectedShare > 0 && expectedShare < 1;
  const logRatio = active ? mixtureLogRatio(t.canaryEvents, t.stableEvents, expectedShare, t.tolerance, t.dispersion) : 0;
  const rejectAt = Math.log(1 / t.alpha);
  const advanceAt = -Math.log(t.advanceFactor);
  return {
    status: t.status,
    canaryEvents: t.canaryEvents,
    stableEvents: t.stableEvents,
    expectedShare,
    observedShare: events > 0 ? t.canaryEvents / events : 0,
    ratio: estimateRatio(t.canaryEvents, t.stableEvents, expectedShare),
    tolerance: t.tolerance,
    dispersion: t.dispersion,
    logRatio,
    alpha: t.alpha,
    rejectAt,
    advanceAt,
    rejects: active && logRatio >= rejectAt,
    // No events is no evidence: with advanceFactor 1 the ratio sits at exactly 1.
    bounded: active && events > 0 && logRatio <= advanceAt,
  };
}
