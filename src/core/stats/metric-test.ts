// Sequential non-inferiority test of one per-user metric (conversion, mean, rate-per-user)
// on the two arms' moments over users. The question: is the canary worse than tolerated?
// For better "higher": canary mean < (1 - tol) * stable mean; for "lower": canary mean >
// (1 + tol) * stable mean. The statistic is the difference D = canary mean - (1 -/+ tol) *
// stable mean, whose estimate is asymptotically normal with variance
// V = v_c / n_c + (1 -/+ tol)^2 * v_s / n_s (v: the arm's per-user variance from the moments,
// so overdispersed counts and between-user variance are priced as they are, not as Poisson).
//
// Always valid: a normal-mixture confidence sequence on D (Robbins' mixture, in the
// asymptotic form of Waudby-Smith et al., "Time-uniform central limit theory", as Eppo and
// GrowthBook use): with a N(0, tau^2) mixture over the effect, the likelihood ratio
// sqrt(V / (V + tau^2)) * exp(tau^2 D^2 / (2 V (V + tau^2))) stays below 1/alpha at every look
// with probability >= 1 - alpha, so the set {D : |D_hat - D| < h(V)} with
// h(V)^2 = 2 V (V + tau^2) / tau^2 * ln(sqrt(1 + tau^2 / V) / alpha) covers D at all times at
// once. The test rejects when that set lies entirely on the bad side of 0. It is two-sided at
// alpha and read one-sided, so it spends at most alpha (about ln 2 nats dearer than a
// one-sided mixture: the price of one formula for the interval and the test).
// What is given up: validity is asymptotic (the CLT for per-user means, with the variance
// estimated), and tau is scaled by the pooled mean (tau = MIXTURE_SCALE * |pooled mean|, a
// consistent estimate, not a constant fixed before the data). The floors below keep the
// small-n regime, where both approximations are poor, from deciding anything.
//
// The interval of the relative difference canary / stable - 1 is the test inverted (Fieller):
// every r for which D_r = canary - (1 + r) * stable is inside its confidence sequence. So
// "rejects" is exactly "the interval lies beyond the tolerance", and the stable mean's own
// noise is in the interval (dividing D's interval by the stable mean would leave it out).
import type { MetricConfig } from "../config/schema.js";
import { metricTolerance, type MetricInput, type MetricVerdict, type MomentStats } from "../metrics/metric-stats.js";

/** Users per arm before a metric may fail the rollout: below, the CLT the test rests on is not there. */
export const MIN_METRIC_USERS = 200;
/**
 * Conversion and rate-per-user: users with the event (conversion) or events (rate), both arms
 * together, before the metric may fail the rollout: a 3% conversion at 200 users is 6
 * conversions, and a proportion's normal approximation needs more (n p >= 10 per arm, about).
 */
export const MIN_METRIC_EVENTS = 20;
/**
 * The mixture's scale, relative to the pooled mean: the relative effect the confidence
 * sequence is tightest for when it is reached. Relative regressions worth a guardrail are a
 * few percent to tens of percent (tolerance 5%, a 10% drop: D is 5% of the mean).
 */
export const MIXTURE_SCALE = 0.1;
/** Mean kind: a variance floor relative to the pooled mean (so identical values in both arms, variance 0, cannot fire on nothing). */
const MEAN_RELATIVE_SD_FLOOR = 0.01;
/** Each arm's variance is at least this share of the pooled one (a lucky arm with little spread must not shrink the error bar). */
const POOLED_VARIANCE_SHARE = 0.5;
/** Relative differences the interval is searched over: -100% to +1000%. */
const R_MIN = -1;
const R_MAX = 10;

export interface MetricTestResult extends MetricVerdict {
  /** Whether the test could decide: both arms past the floors (otherwise rejects is false). */
  ready: boolean;
  /** D's estimate at the tolerance, its confidence-sequence half-width and the alpha it was read at. */
  difference: number | null;
  halfWidth: number | null;
  alpha: number;
}

const mean = (m: MomentStats): number => (m.n > 0 ? m.sum / m.n : 0);
/** Unbiased per-user variance from the moments (0 below two users). */
function variance(m: MomentStats): number {
  if (m.n < 2) return 0;
  return Math.max(0, (m.sumSq - (m.sum * m.sum) / m.n) / (m.n - 1));
}

/** The per-user variances the standard error is built from, with the kind's floors. */
export function armVariances(kind: MetricConfig["kind"], stable: MomentStats, canary: MomentStats): { stable: number; canary: number } {
  const pooled: MomentStats = { n: stable.n + canary.n, sum: stable.sum + canary.sum, sumSq: stable.sumSq + canary.sumSq };
  const pm = mean(pooled);
  if (kind === "conversion") {
    // A proportion's variance is its mean's function: each arm at its own smoothed rate or the
    // pooled one, whichever is larger (a canary converting less by chance must not look surer).
    const p = (m: MomentStats): number => (m.sum + 1) / (m.n + 2);
    const pp = p(pooled);
    const v = (m: MomentStats): number => Math.max(p(m) * (1 - p(m)), pp * (1 - pp));
    return { stable: v(stable), canary: v(canary) };
  }
  let floor = POOLED_VARIANCE_SHARE * variance(pooled);
  // Counts per user are at least as variable as Poisson would make them, in practice; the
  // floor keeps a few users with one event each from reading as certainty.
  if (kind === "rate-per-user") floor = Math.max(floor, pm);
  else floor = Math.max(floor, (MEAN_RELATIVE_SD_FLOOR * pm) ** 2);
  return { stable: Math.max(variance(stable), floor), canary: Math.max(variance(canary), floor) };
}

/** The confidence sequence's half-width for an estimate of variance v, mixture scale tau, at alpha. */
export function csHalfWidth(v: number, tau: number, alpha: number): number {
  if (!(v > 0) || !(tau > 0)) return Number.POSITIVE_INFINITY;
  const t2 = tau * tau;
  return Math.sqrt(((2 * v * (v + t2)) / t2) * Math.log(Math.sqrt(1 + t2 / v) / alpha));
}

/** Whether both arms are past the floors the test needs before it may fail anything. */
export function metricReady(kind: MetricConfig["kind"], stable: MomentStats, canary: MomentStats, minUsers = MIN_METRIC_USERS): boolean {
  if (stable.n < minUsers || canary.n < minUsers) return false;
  if (kind === "mean") return true;
  return stable.sum + canary.sum >= MIN_METRIC_EVENTS;
}

/**
 * The test of one metric at alpha. `active` false (no comparison at this stage): the verdict
 * is computed for display and never rejects.
 */
export function testMetric(input: MetricInput, alpha: number, active = true, minUsers = MIN_METRIC_USERS): MetricTestResult {
  const { def, stable, canary } = input;
  const tol = metricTolerance(def);
  const ms = stable.n > 0 ? mean(stable) : null;
  const mc = canary.n > 0 ? mean(canary) : null;
  const base = {
    name: def.name,
    kind: def.kind,
    mode: def.mode,
    better: def.better,
    tolerance: tol,
    stable: { users: stable.n, mean: ms },
    canary: { users: canary.n, mean: mc },
    relativeDifference: ms !== null && mc !== null && ms !== 0 ? mc / ms - 1 : null,
    alpha,
  };
  if (ms === null || mc === null || stable.n < 2 || canary.n < 2) {
    return { ...base, interval: null, rejects: false, ready: false, difference: null, halfWidth: null };
  }
  const v = armVariances(def.kind, stable, canary);
  const pooledMean = (stable.sum + canary.sum) / (stable.n + canary.n);
  const tau = MIXTURE_SCALE * Math.abs(pooledMean);
  // D_r = canary - (1 + r) * stable and its half-width: the test is r = -tol (higher) or +tol (lower).
  const at = (r: number): { d: number; h: number } => {
    const k = 1 + r;
    const vr = v.canary / canary.n + (k * k * v.stable) / stable.n;
    return { d: mc - k * ms, h: csHalfWidth(vr, tau, alpha) };
  };
  const r0 = def.better === "higher" ? -tol : tol;
  const t = at(r0);
  const ready = metricReady(def.kind, stable, canary, minUsers);
  const worse = def.better === "higher" ? t.d + t.h < 0 : t.d - t.h > 0;
  return { ...base, interval: relativeInterval(ms, at), rejects: active && ready && worse, ready, difference: t.d, halfWidth: Number.isFinite(t.h) ? t.h : null };
}

/**
 * The relative differences r with D_r inside its confidence sequence: [low, high], or null
 * while the set is unbounded (the stable mean not yet told apart from 0). With a positive
 * stable mean D_r - h_r falls as r grows (h grows with r), so low is one crossing; D_r + h_r
 * falls once the stable mean is resolved, so high is the last crossing below R_MAX.
 */
function relativeInterval(ms: number, at: (r: number) => { d: number; h: number }): { low: number; high: number } | null {
  if (!(ms > 0)) return null;
  const hi = at(R_MAX);
  if (!Number.isFinite(hi.h) || hi.d + hi.h >= 0) return null;
  const lower = (r: number): boolean => {
    const x = at(r);
    return x.d - x.h <= 0;
  };
  const upper = (r: number): boolean => {
    const x = at(r);
    return x.d + x.h >= 0;
  };
  const low = lower(R_MIN) ? R_MIN : bisect(R_MIN, R_MAX, lower);
  // No r where the set's upper side holds: the set is empty (cannot happen with h > 0, D_r continuous).
  const high = upper(R_MIN) ? bisect(R_MIN, R_MAX, (r) => !upper(r)) : R_MIN;
  return { low, high };
}

/** The first r in [a, b] where pred turns true (pred false at a, true at b). */
function bisect(a: number, b: number, pred: (r: number) => boolean): number {
  let lo = a;
  let hi = b;
  for (let i = 0; i < 50 && hi - lo > 1e-7; i++) {
    const mid = (lo + hi) / 2;
    if (pred(mid)) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}
