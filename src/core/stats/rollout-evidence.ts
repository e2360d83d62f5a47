// From stored evidence windows (sketches and failing identities, as the coordinator
// keeps them) to the engine v2's counts: per window and arm, requests, identities whose
// first error in the rollout fell in it, and exceedances of the stable tail and median
// quantiles. Each window's thresholds come from the stable arm of the windows before
// it (the newest ones holding THRESHOLD_SAMPLES stable samples, history before the
// rollout included), never from the window itself: the threshold is fixed before the
// window's events, which keeps the test valid, and a cold start in one window is out of
// the thresholds one window later. Pure.
//
// A shadow stage's window is read from its mirrored pairs instead (Evidence.shadow; its
// live arms are all stable traffic and only feed the thresholds of later live windows):
// canary.failedUsers = identities newly in canaryOnlyIds, stable.failedUsers = newly in
// stableOnlyIds (first time in the rollout, as the live arms), weight 50 (a discordant pair
// is the canary's with probability 1/2 when it is no worse); timed = the reference pairs
// (mirrors sent with a simultaneous stable request, shadow.latencyPairs) on both arms,
// slow = refCanarySlower / refStableSlower, timedMid/slowMid from the median-margin signs
// (a window stored before reference pairs has none: it carries no latency evidence). So the
// ledgers judge the paired comparison with no change, and the window's `shadow` counts feed
// the mismatch test. A live step's window never reads Evidence.shadow.
//
// A plan with ring stages (Evidence.rings, and the plan's exposure per step): a live
// window's arms are everyone else's (the totals less every ring's: counts and latency
// exceedances subtract exactly, failing identities are the totals' less the rings'), and
// each ring of the step's exposure gets its own arms at the same thresholds, with the
// baseline ring-baseline.ts picks from the share the plan serves it at. A failing identity
// counts once per rollout within its stratum (everyone else, or one ring).
import type { ArmEvidence, Evidence } from "../evidence.js";
import type { Exposure } from "../rollout/plan.js";
import { emptyShadow, mirrored, type IdSet } from "../shadow/shadow-evidence.js";
import { countAbove, emptySketch, mergeSketches, quantile, type Sketch } from "./ddsketch.js";
import type { Guardrails } from "./guardrails.js";
import { ringBaseline } from "./ring-baseline.js";
import { closeWindow, createEngineState, type ArmWindow, type EngineState, type RingWindow, type RolloutInput, type RolloutWindow } from "./rollout-engine.js";

/** Stable samples behind a threshold: 20 expected exceedances of a p99. */
export const THRESHOLD_SAMPLES = 2000;
/** How many earlier windows a threshold may reach back over (15 min). */
export const THRESHOLD_MAX_WINDOWS = 90;
export const WINDOW_MS = 10_000;

export interface StoredWindow {
  start: number;
  step: number;
  evidence: Evidence;
}

export interface RolloutEvidenceInput {
  /** The rollout's windows (this release, every step), oldest first. */
  windows: readonly StoredWindow[];
  /** Windows before the rollout (the stable origin's recent history), oldest first. */
  history?: ReadonlyArray<{ evidence: Evidence }>;
  /** Canary weight per step index, percent. */
  weights: readonly number[];
  guardrails: Guardrails;
  now: number;
  /** The step in force: a newest window of an earlier step is closed, not open. */
  currentStep?: number;
  /** Kind of each step of the plan (plan.ts), by step index; absent or missing: live. */
  kinds?: ReadonlyArray<"live" | "shadow">;
  /** route.shadow.maxMismatchRate, the rate shadow windows are held to (default 0.01). */
  maxMismatchRate?: number;
  /**
   * Who gets the canary at each step index (plan.ts exposureAt), on a plan with ring
   * stages: a window's rings are read against it. Absent: rings are not read (the totals
   * are the arms, as before ring stages).
   */
  exposures?: ReadonlyArray<Exposure>;
}

export interface RolloutCounts {
  closed: RolloutWindow[];
  open: RolloutWindow | undefined;
  latencySource: RolloutInput["latencySource"];
}

/** A threshold is the median of this many chunks' quantiles (one cold-start window spoils at most one chunk). */
export const THRESHOLD_CHUNKS = 3;
const CHUNK_SAMPLES = Math.ceil(THRESHOLD_SAMPLES / THRESHOLD_CHUNKS);
/** A window judged on its own samples needs at least this many (both arms). */
export const SELF_MIN_SAMPLES = 100;

type Thr = [number, number | null];

function quantiles(sketch: Sketch, g: Guardrails): Thr | null {
  const tail = quantile(sketch, g.latencyQuantile);
  const mid = g.medianQuantile === null ? null : quantile(sketch, g.medianQuantile);
  return Number.isFinite(tail) && tail > 0 ? [tail, mid !== null && Number.isFinite(mid) && mid > 0 ? mid : null] : null;
}

const median3 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The predictable thresholds of a window: the newest earlier stable windows (up to 15
 * min) cut into THRESHOLD_CHUNKS chunks of whole windows holding THRESHOLD_SAMPLES/3
 * samples each, and the median of the chunks' quantiles. A window spoiled by a runtime
 * cold start (433 ms samples against a steady 41 ms) sits in one chunk and moves the
 * median by nothing. null: not yet THRESHOLD_CHUNKS chunks (the window is judged on its
 * own samples when it closes, see selfThresholds).
 */
function thresholds(before: readonly Sketch[], g: Guardrails): Thr | null {
  const chunks: Thr[] = [];
  let sketch = emptySketch();
  for (let i = before.length - 1, k = 0; i >= 0 && k < THRESHOLD_MAX_WINDOWS && chunks.length < THRESHOLD_CHUNKS; i--, k++) {
    sketch = mergeSketches(sketch, before[i]!);
    if (sketch.count >= CHUNK_SAMPLES) {
      const q = quantiles(sketch, g);
      if (q) chunks.push(q);
      sketch = emptySketch();
    }
  }
  if (chunks.length < THRESHOLD_CHUNKS) return null;
  const mids = chunks.map((c) => c[1]);
  return [median3(chunks.map((c) => c[0])), mids.every((m) => m !== null) ? median3(mids as number[]) : null];
}

/**
 * A window with no predictable thresholds (a first release, its first windows) is judged
 * once closed, at the quantiles of its own pooled samples (both arms). Valid without a
 * prior threshold: under "the canary changes nothing" the arm labels of the window's
 * samples are exchangeable given the pooled values, so the canary's count among the
 * samples above a pooled quantile is hypergeometric, which the binomial likelihood ratio
 * bounds (sampling without replacement is below it in convex order). A cold start that
 * hits both arms moves the pooled quantile with it and hides nothing. Never read open:
 * the quantile would move under the peeks.
 */
function selfThresholds(e: Evidence, g: Guardrails): Thr | null {
  const pooled = mergeSketches(e.stable.latency, e.canary.latency);
  return pooled.count >= SELF_MIN_SAMPLES ? quantiles(pooled, g) : null;
}

/**
 * One arm of a window as counts. A failing identity counts once per rollout: a closed
 * window adds its identities to `seen`; a peek at the open window (`commit` false) only
 * reads it, since the window will be counted again when it closes.
 */
function arm(e: Evidence["stable"], thr: Thr | null, seen: Set<number>, commit = true): ArmWindow {
  let failedUsers = e.failedOverflow ?? 0;
  const into = commit ? seen : new Set<number>();
  for (const id of e.failedIds ?? []) {
    if (seen.has(id) || into.has(id)) continue;
    into.add(id);
    failedUsers++;
  }
  const timed = thr ? e.latency.count : 0;
  return {
    requests: e.requests,
    errors: e.errors,
    failedUsers,
    timed,
    slow: thr ? countAbove(e.latency, thr[0]) : 0,
    timedMid: thr && thr[1] !== null ? timed : 0,
    slowMid: thr && thr[1] !== null ? countAbove(e.latency, thr[1]) : 0,
  };
}

/**
 * Everyone else's arm: the totals' arm less the rings' (parts). Counts and exceedances
 * subtract exactly (sketch bins add); failing identities are the totals' not in any ring's
 * list, new in the rollout, and the overflow beyond the rings' own.
 */
function restArm(total: ArmEvidence, parts: readonly ArmEvidence[], thr: Thr | null, seen: Set<number>, commit: boolean): ArmWindow {
  const inRings = new Set<number>();
  let partOverflow = 0;
  for (const p of parts) {
    for (const id of p.failedIds ?? []) inRings.add(id);
    partOverflow += p.failedOverflow ?? 0;
  }
  let failedUsers = Math.max(0, (total.failedOverflow ?? 0) - partOverflow);
  const into = commit ? seen : new Set<number>();
  for (const id of total.failedIds ?? []) {
    if (inRings.has(id) || seen.has(id) || into.has(id)) continue;
    into.add(id);
    failedUsers++;
  }
  const less = (f: (a: ArmEvidence) => number): number => Math.max(0, parts.reduce((acc, p) => acc - f(p), f(total)));
  const timed = thr ? less((a) => a.latency.count) : 0;
  return {
    requests: less((a) => a.requests),
    errors: less((a) => a.errors),
    failedUsers,
    timed,
    slow: thr ? less((a) => countAbove(a.latency, thr[0])) : 0,
    timedMid: thr && thr[1] !== null ? timed : 0,
    slowMid: thr && thr[1] !== null ? less((a) => countAbove(a.latency, thr[1]!)) : 0,
  };
}

/** Failing identities seen per ring in the rollout (a stratum each). */
export type RingSeen = Map<string, Set<number>>;

/**
 * A live window of a plan with rings: everyone else's arms and one RingWindow per ring of
 * the step's exposure (plan order). A ring key the exposure does not know (an isolate on
 * another config) is still taken out of everyone else's arms but not tested.
 */
function ringsWindow(input: RolloutEvidenceInput, w: StoredWindow, thr: Thr | null, seen: Set<number>, ringSeen: RingSeen, commit: boolean): RolloutWindow {
  const e = w.evidence;
  const all = e.rings ?? {};
  const exposure = input.exposures?.[w.step];
  const rings: RingWindow[] = [];
  for (const ring of exposure?.rings ?? []) {
    const r = all[ring.key];
    if (!r) continue;
    let s = ringSeen.get(ring.key);
    if (!s) ringSeen.set(ring.key, (s = new Set()));
    const percent = Math.max(ring.percent, exposure!.everyone);
    rings.push({ key: ring.key, baseline: ringBaseline(percent), percent, stable: arm(r.stable, thr, s, commit), canary: arm(r.canary, thr, s, commit) });
  }
  const parts = Object.values(all);
  return {
    start: w.start,
    step: w.step,
    weight: input.weights[w.step] ?? 0,
    stable: restArm(e.stable, parts.map((r) => r.stable), thr, seen, commit),
    canary: restArm(e.canary, parts.map((r) => r.canary), thr, seen, commit),
    rings,
  };
}

/** Identities of `set` not yet in `seen` (the overflow counts each as new); `commit` adds them. */
function newIds(set: IdSet, seen: Set<number>, commit: boolean, skip?: ReadonlySet<number>): number {
  let n = set.overflow ?? 0;
  for (const id of set.ids ?? []) {
    if (seen.has(id) || skip?.has(id)) continue;
    if (commit) seen.add(id);
    n++;
  }
  return n;
}

/**
 * A shadow stage's window as counts, from its mirrored pairs (see the header). An identity
 * that is new on both sides in one window (a canary-only failure and a stable-only one)
 * counts on neither: symmetric, so the 1/2 under the null stands. `seen` is the rollout's
 * failing identities (shared with the live arms: one identity, one event per rollout);
 * `mismatchSeen` its mismatching ones.
 */
function shadowWindow(w: StoredWindow, g: Guardrails, r0: number, seen: Set<number>, mismatchSeen: Set<number>, commit = true): RolloutWindow {
  const e = w.evidence.shadow ?? emptyShadow();
  const both = new Set<number>();
  const stableIds = new Set(e.stableOnlyIds.ids ?? []);
  for (const id of e.canaryOnlyIds.ids ?? []) if (stableIds.has(id) && !seen.has(id)) both.add(id);
  const canaryFailed = newIds(e.canaryOnlyIds, seen, commit, both);
  const stableFailed = newIds(e.stableOnlyIds, seen, commit, both);
  if (commit) for (const id of both) seen.add(id);
  const n = mirrored(e);
  const med = g.medianQuantile !== null;
  const pairs = e.referencePairs ?? 0;
  const side = (errors: number, failedUsers: number, slow: number, slowMid: number): ArmWindow => ({
    requests: n,
    errors,
    failedUsers,
    timed: pairs,
    slow,
    timedMid: med ? pairs : 0,
    slowMid: med ? slowMid : 0,
  });
  return {
    start: w.start,
    step: w.step,
    weight: 50,
    stable: side(e.stableOnly, stableFailed, e.refStableSlower ?? 0, e.refStableSlowerMid ?? 0),
    canary: side(e.canaryOnly, canaryFailed, e.refCanarySlower ?? 0, e.refCanarySlowerMid ?? 0),
    shadow: {
      mirrored: n,
      compared: e.match + e.mismatch + e.skipped,
      mismatches: e.mismatch,
      mismatchUsers: Math.min(e.mismatch, newIds(e.mismatchIds, mismatchSeen, commit)),
      canaryErrors: e.canaryError + e.canaryTimeout,
      maxMismatchRate: r0,
    },
  };
}

const isShadow = (input: RolloutEvidenceInput, step: number): boolean => input.kinds?.[step] === "shadow";
const mismatchRateOf = (input: RolloutEvidenceInput): number => input.maxMismatchRate ?? 0.01;

/**
 * One stored window as the engine's counts: a shadow stage's from its mirrored pairs, a
 * live one's at thresholds `thr` (a closed live window without predictable ones is judged
 * on its own samples; an open one never is, see selfThresholds). `commit` as in arm().
 */
function windowCounts(input: RolloutEvidenceInput, w: StoredWindow, thr: Thr | null, seen: Set<number>, mismatchSeen: Set<number>, commit: boolean, ringSeen: RingSeen): RolloutWindow {
  if (isShadow(input, w.step)) return shadowWindow(w, input.guardrails, mismatchRateOf(input), seen, mismatchSeen, commit);
  const used = thr ?? (commit ? selfThresholds(w.evidence, input.guardrails) : null);
  if (input.exposures && w.evidence.rings && Object.keys(w.evidence.rings).length > 0) return ringsWindow(input, w, used, seen, ringSeen, commit);
  return { start: w.start, step: w.step, weight: input.weights[w.step] ?? 0, stable: arm(w.evidence.stable, used, seen, commit), canary: arm(w.evidence.canary, used, seen, commit) };
}

/** The rollout's windows as the engine's counts; the newest is open while now is inside it. */
export function rolloutCounts(input: RolloutEvidenceInput): RolloutCounts {
  const g = input.guardrails;
  const stableSketches: Sketch[] = (input.history ?? []).map((h) => h.evidence.stable.latency);
  const seen = new Set<number>();
  const mismatchSeen = new Set<number>();
  const ringSeen: RingSeen = new Map();
  const out: RolloutWindow[] = [];
  let lastThr: Thr | null = null;
  let prevStart: number | undefined;
  let openThr = false;
  const sorted = [...input.windows].sort((a, b) => a.start - b.start || a.step - b.step);
  for (const w of sorted) {
    // Windows sharing a start (a step change inside one window) share its thresholds.
    const thr: Thr | null = w.start === prevStart ? lastThr : thresholds(stableSketches, g);
    lastThr = thr;
    prevStart = w.start;
    out.push(windowCounts(input, w, thr, seen, mismatchSeen, true, ringSeen));
    // A shadow stage's live arms are all stable traffic: good history for later thresholds.
    stableSketches.push(w.evidence.stable.latency);
    openThr = thr !== null;
  }
  const last = out.at(-1);
  const isOpen = last !== undefined && input.now < last.start + WINDOW_MS && (input.currentStep === undefined || last.step === input.currentStep);
  const open = isOpen ? out.pop() : undefined;
  if (open && !openThr && !open.shadow) {
    // Judged on its own samples only once closed: open, it carries no latency evidence.
    for (const a of [open.stable, open.canary, ...(open.rings ?? []).flatMap((r) => [r.stable, r.canary])]) a.timed = a.slow = a.timedMid = a.slowMid = 0;
  }
  const hasThr = open !== undefined ? openThr : lastThr !== null;
  const latencySource: RolloutInput["latencySource"] = hasThr ? ((input.history?.length ?? 0) > 0 && out.length < 1 ? "history" : "rolling") : "calibrating";
  return { closed: out, open, latencySource };
}

/** A fresh engine state with every closed window of the rollout in it (a coordinator after a restart, or any cold read). */
export function engineFromWindows(input: RolloutEvidenceInput): { state: EngineState } & RolloutCounts {
  const counts = rolloutCounts(input);
  const state = createEngineState(input.guardrails);
  for (const w of counts.closed) closeWindow(state, w, input.guardrails);
  return { state, ...counts };
}

/**
 * The coordinator's memo of a rollout: the engine state with every closed window in it,
 * the failing identities seen, and the stable sketches behind the next thresholds. Closed
 * windows never change (a delta lands in the window of the coordinator's now), so each
 * evaluation only adds the windows closed since the last one and reads the open one; the
 * caller may pass only the windows from memoFrontier on (a step of days is never re-read).
 */
export interface RolloutMemo {
  key: string;
  state: EngineState;
  seen: Set<number>;
  /** Identities with a mismatch in the rollout's closed shadow windows. */
  mismatchSeen: Set<number>;
  /** Failing identities per ring in the rollout's closed windows. */
  ringSeen: RingSeen;
  stable: Sketch[];
  /** The newest closed window consumed (start, then step): windows up to it are in the state. */
  through: { start: number; step: number } | undefined;
  lastStart: number | undefined;
  lastThr: Thr | null;
  history: boolean;
}

/**
 * The start of the newest window a memo holds for `key`: a caller with a current memo
 * passes windows from there on (the one at the frontier is skipped as consumed);
 * undefined means the memo is missing or for another rollout, so pass every window.
 */
export function memoFrontier(memo: RolloutMemo | undefined, key: string): number | undefined {
  if (!memo || memo.key !== key) return undefined;
  return memo.through?.start ?? Number.NEGATIVE_INFINITY;
}

/** Whether w comes after the consumed window p (windows sort by start, then step). */
const after = (w: StoredWindow, p: { start: number; step: number } | undefined): boolean => p === undefined || w.start > p.start || (w.start === p.start && w.step > p.step);

/**
 * Brings the memo up to date with the rollout's windows (a new memo when there is none or
 * the key changed) and reads the open window. Same answer as engineFromWindows over every
 * window the memo has seen, in time proportional to the windows passed. Windows storage
 * has dropped since (retention) stay counted: evidence is never lost to a prune.
 */
export function updateRollout(memo: RolloutMemo | undefined, key: string, input: RolloutEvidenceInput): { memo: RolloutMemo; state: EngineState; open: RolloutWindow | undefined; latencySource: RolloutInput["latencySource"] } {
  const g = input.guardrails;
  const sorted = [...input.windows].sort((a, b) => a.start - b.start || a.step - b.step);
  const last = sorted.at(-1);
  const openStored = last && input.now < last.start + WINDOW_MS && (input.currentStep === undefined || last.step === input.currentStep) ? last : undefined;
  const closedCount = sorted.length - (openStored ? 1 : 0);
  let m = memo;
  if (!m || m.key !== key) {
    m = {
      key,
      state: createEngineState(g),
      seen: new Set(),
      mismatchSeen: new Set(),
      ringSeen: new Map(),
      stable: (input.history ?? []).map((h) => h.evidence.stable.latency).slice(-THRESHOLD_MAX_WINDOWS),
      through: undefined,
      lastStart: undefined,
      lastThr: null,
      history: (input.history?.length ?? 0) > 0,
    };
  }
  for (let i = 0; i < closedCount; i++) {
    const w = sorted[i]!;
    if (!after(w, m.through)) continue;
    const thr = w.start === m.lastStart ? m.lastThr : thresholds(m.stable, g);
    m.lastStart = w.start;
    m.lastThr = thr;
    closeWindow(m.state, windowCounts(input, w, thr, m.seen, m.mismatchSeen, true, m.ringSeen), g);
    m.stable.push(w.evidence.stable.latency);
    if (m.stable.length > THRESHOLD_MAX_WINDOWS) m.stable.shift();
    m.through = { start: w.start, step: w.step };
  }
  let open: RolloutWindow | undefined;
  let openThr = false;
  if (openStored) {
    const thr = openStored.start === m.lastStart ? m.lastThr : thresholds(m.stable, g);
    open = windowCounts(input, openStored, thr, m.seen, m.mismatchSeen, false, m.ringSeen);
    openThr = thr !== null;
  }
  const newest = open;
  // A shadow window's timed pairs need no threshold: whether there is one says where live thresholds stand.
  const hasThr = newest !== undefined ? (newest.shadow ? openThr : newest.stable.timed + newest.canary.timed > 0) : m.lastThr !== null;
  const latencySource: RolloutInput["latencySource"] = hasThr ? (m.history && m.through === undefined ? "history" : "rolling") : "calibrating";
  return { memo: m, state: m.state, open, latencySource };
}
