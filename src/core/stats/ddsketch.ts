// A mergeable latency sketch (DDSketch, Masson et al. 2019): values fall into
// logarithmic bins of ratio GAMMA, so any quantile comes back within 1% of the true
// value, and two sketches merge by adding bin counts. The state is a plain JSON object
// because it crosses the Durable Object RPC boundary and is stored as JSON. Memory is
// bounded: bins more than MAX_BINS below the maximum's bin are folded into one floor
// bin, which gives up accuracy only for values over 1024 bins (a factor 6e8) below
// the maximum, far under any quantile a latency rule reads.

export interface Sketch {
  /** Values recorded, zeros included. */
  count: number;
  /** Values at or below MIN_VALUE (a log bin cannot hold 0). */
  zeroCount: number;
  /** Exact extremes; 0 while count is 0 (JSON has no Infinity). */
  min: number;
  max: number;
  sum: number;
  /** Sparse bins: key k holds values in (GAMMA^(k-1), GAMMA^k]. */
  bins: Record<string, number>;
}

export const RELATIVE_ACCURACY = 0.01;
export const MAX_BINS = 1024;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
/** Below this (ms) a value counts as zero: sub-nanosecond latencies carry no signal. */
export const MIN_VALUE = 1e-6;
/** Larger values are clamped (ms): 11 days is a broken clock, not a latency. */
export const MAX_VALUE = 1e9;

const keyOf = (value: number): number => Math.ceil(Math.log(value) / LN_GAMMA);
/** Midpoint in relative terms, so the error is at most RELATIVE_ACCURACY either side. */
const valueOf = (key: number): number => (2 * Math.exp(key * LN_GAMMA)) / (GAMMA + 1);
/** The lowest key kept for a given maximum; a function of max alone, so merging stays associative. */
const floorKey = (max: number): number => (max > MIN_VALUE ? keyOf(max) - MAX_BINS + 1 : -Infinity);

/** Upper edge of value's bin: countAbove(s, value) counts the values above this. */
export function binUpperBound(value: number): number {
  return value > MIN_VALUE ? Math.exp(keyOf(value) * LN_GAMMA) : MIN_VALUE;
}

export function emptySketch(): Sketch {
  return { count: 0, zeroCount: 0, min: 0, max: 0, sum: 0, bins: {} };
}

function clamp(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_VALUE) : 0; // NaN and negatives read as 0
}

/** Folds every bin below the floor into the floor bin. */
function collapse(sketch: Sketch): void {
  const floor = floorKey(sketch.max);
  if (floor === -Infinity || keyOf(Math.max(sketch.min, MIN_VALUE * 2)) >= floor) return;
  let moved = 0;
  for (const key of Object.keys(sketch.bins)) {
    if (Number(key) < floor) {
      moved += sketch.bins[key]!;
      delete sketch.bins[key];
    }
  }
  if (moved > 0) sketch.bins[floor] = (sketch.bins[floor] ?? 0) + moved;
}

/** Records one value in place: O(1) except a rare fold when the maximum jumps. */
export function addValue(sketch: Sketch, ms: number): void {
  const value = clamp(ms);
  let maxGrew = false;
  if (sketch.count === 0) {
    sketch.min = value;
    sketch.max = value;
  } else if (value < sketch.min) {
    sketch.min = value;
  } else if (value > sketch.max) {
    maxGrew = floorKey(value) > floorKey(sketch.max);
    sketch.max = value;
  }
  sketch.count++;
  sketch.sum += value;
  if (value <= MIN_VALUE) {
    sketch.zeroCount++;
  } else {
    const key = Math.max(keyOf(value), floorKey(sketch.max));
    sketch.bins[key] = (sketch.bins[key] ?? 0) + 1;
  }
  if (maxGrew) collapse(sketch);
}

/** Pure, associative and commutative (sum up to float rounding). */
export function mergeSketches(a: Sketch, b: Sketch): Sketch {
  if (b.count === 0) return { ...a, bins: { ...a.bins } };
  if (a.count === 0) return { ...b, bins: { ...b.bins } };
  const bins: Record<string, number> = { ...a.bins };
  for (const key in b.bins) bins[key] = (bins[key] ?? 0) + b.bins[key]!;
  const merged: Sketch = {
    count: a.count + b.count,
    zeroCount: a.zeroCount + b.zeroCount,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sum: a.sum + b.sum,
    bins,
  };
  collapse(merged);
  return merged;
}

/** The q-quantile (0..1) by rank q·(count-1); NaN for an empty sketch (check count first). */
export function quantile(sketch: Sketch, q: number): number {
  if (sketch.count === 0) return NaN;
  const rank = Math.min(Math.max(q, 0), 1) * (sketch.count - 1);
  if (rank < sketch.zeroCount) return 0;
  const keys = Object.keys(sketch.bins)
    .map(Number)
    .sort((x, y) => x - y);
  let seen = sketch.zeroCount;
  for (const key of keys) {
    seen += sketch.bins[key]!;
    if (seen > rank) return Math.min(Math.max(valueOf(key), sketch.min), sketch.max);
  }
  return sketch.max;
}

/**
 * Values above threshold. Values sharing the threshold's bin are not counted (they may
 * lie either side), so this counts values above binUpperBound(threshold): at most 2%
 * higher, and the same for every sketch compared against one threshold.
 */
export function countAbove(sketch: Sketch, threshold: number): number {
  if (sketch.count === 0 || threshold >= sketch.max) return 0;
  if (!(threshold >= 0)) return sketch.count;
  if (threshold <= MIN_VALUE) return sketch.count - sketch.zeroCount;
  const limit = keyOf(threshold);
  let above = 0;
  for (const key in sketch.bins) if (Number(key) > limit) above += sketch.bins[key]!;
  return above;
}
