// The shadow arm of the evidence: what mirrored requests showed, per pair (stable's
// answer to the user, the canary's to the mirror of the same request). It is paired
// evidence, which is what makes it sensitive: both answers come from one request, so
// the engine compares them directly instead of two independent arms.
// - Errors: discordant pairs only. "Only the canary failed" and "only stable failed" are
//   equally likely when the canary is no worse, whatever the base rate (a sign test, as
//   in McNemar's); concordant pairs say nothing about the difference. Counted per
//   identity, like the live arms.
// - Latency: sign counts of pairs where one side was slower than the other by a margin,
//   at a tail margin (much slower) and a median margin (slower at all, beyond timer
//   noise). With the same latency distribution both signs are equally likely.
// - Mismatches: compared pairs whose answers differed, per request, with the distinct
//   identities behind them (a handful of users cannot fail a stage alone).
// A commutative monoid like Evidence: emptyShadow is the identity, mergeShadow associative.
import { addValue, emptySketch, mergeSketches, type Sketch } from "../stats/ddsketch.js";
import type { ShadowOutcome } from "./shadow-outcome.js";

/** Distinct identities (32-bit hashes), at most MAX_SHADOW_IDS kept; any beyond only counted. */
export interface IdSet {
  ids?: number[];
  overflow?: number;
}

export const MAX_SHADOW_IDS = 256;

export interface ShadowEvidence {
  /** Mirrors by outcome (shadow-outcome.ts). */
  match: number;
  mismatch: number;
  canaryError: number;
  canaryTimeout: number;
  skipped: number;
  /** Pairs where only the canary's answer failed, and where only stable's did (guardrails decide what fails). */
  canaryOnly: number;
  stableOnly: number;
  canaryOnlyIds: IdSet;
  stableOnlyIds: IdSet;
  mismatchIds: IdSet;
  /** Pairs where both answered, timed; and the sign counts at the tail and median margins. */
  pairs: number;
  canarySlower: number;
  stableSlower: number;
  canarySlowerMid: number;
  stableSlowerMid: number;
  /** Times to response headers of the mirrored requests, each side (display, and the stage's p99s). */
  canaryLatency: Sketch;
  stableLatency: Sketch;
}

/** One side is "much slower" (tail sign) above other x TAIL_MARGIN + MARGIN_FLOOR_MS. */
export const TAIL_MARGIN = 1.5;
/** One side is "slower" (median sign) above other x MID_MARGIN + MARGIN_FLOOR_MS. */
export const MID_MARGIN = 1.05;
/** Below this difference two times are a tie whatever the ratio: timer and scheduling noise. */
export const MARGIN_FLOOR_MS = 2;

export function emptyShadow(): ShadowEvidence {
  return {
    match: 0,
    mismatch: 0,
    canaryError: 0,
    canaryTimeout: 0,
    skipped: 0,
    canaryOnly: 0,
    stableOnly: 0,
    canaryOnlyIds: {},
    stableOnlyIds: {},
    mismatchIds: {},
    pairs: 0,
    canarySlower: 0,
    stableSlower: 0,
    canarySlowerMid: 0,
    stableSlowerMid: 0,
    canaryLatency: emptySketch(),
    stableLatency: emptySketch(),
  };
}

/** Mirrors with an outcome, of any kind. */
export const mirrored = (e: ShadowEvidence): number => e.match + e.mismatch + e.canaryError + e.canaryTimeout + e.skipped;

/** Hot path (per mirror): adds one identity, O(ids) only for a rare event. */
function addId(set: IdSet, id: number | undefined): void {
  if (id === undefined) {
    set.overflow = (set.overflow ?? 0) + 1;
    return;
  }
  const ids = (set.ids ??= []);
  if (ids.includes(id)) return;
  if (ids.length < MAX_SHADOW_IDS) ids.push(id);
  else set.overflow = (set.overflow ?? 0) + 1;
}

function mergeIds(a: IdSet, b: IdSet): IdSet {
  const out: IdSet = {};
  let overflow = (a.overflow ?? 0) + (b.overflow ?? 0);
  const ids = a.ids ? [...a.ids] : [];
  if (b.ids) {
    const seen = new Set(ids);
    for (const id of b.ids) {
      if (seen.has(id)) continue;
      if (ids.length < MAX_SHADOW_IDS) {
        ids.push(id);
        seen.add(id);
      } else overflow++;
    }
  }
  if (ids.length > 0) out.ids = ids;
  if (overflow > 0) out.overflow = overflow;
  return out;
}

/** Distinct identities in a set (the overflow counts each as one). */
export const idCount = (s: IdSet): number => (s.ids?.length ?? 0) + (s.overflow ?? 0);

/** Pure: returns a new object and never aliases the inputs' sketches. */
export function mergeShadow(a: ShadowEvidence, b: ShadowEvidence): ShadowEvidence {
  return {
    match: a.match + b.match,
    mismatch: a.mismatch + b.mismatch,
    canaryError: a.canaryError + b.canaryError,
    canaryTimeout: a.canaryTimeout + b.canaryTimeout,
    skipped: a.skipped + b.skipped,
    canaryOnly: a.canaryOnly + b.canaryOnly,
    stableOnly: a.stableOnly + b.stableOnly,
    canaryOnlyIds: mergeIds(a.canaryOnlyIds, b.canaryOnlyIds),
    stableOnlyIds: mergeIds(a.stableOnlyIds, b.stableOnlyIds),
    mismatchIds: mergeIds(a.mismatchIds, b.mismatchIds),
    pairs: a.pairs + b.pairs,
    canarySlower: a.canarySlower + b.canarySlower,
    stableSlower: a.stableSlower + b.stableSlower,
    canarySlowerMid: a.canarySlowerMid + b.canarySlowerMid,
    stableSlowerMid: a.stableSlowerMid + b.stableSlowerMid,
    canaryLatency: mergeSketches(a.canaryLatency, b.canaryLatency),
    stableLatency: mergeSketches(a.stableLatency, b.stableLatency),
  };
}

/**
 * Adds one mirror's outcome. `stableFailed` and `canaryFailed` are the guardrails'
 * verdicts on each answer (a canary timeout or connection failure is a failure);
 * `identityHash` is the request's identity hashed (evidence.ts identityHash), needed only
 * for a discordant pair or a mismatch.
 */
export function recordShadowOutcome(e: ShadowEvidence, o: ShadowOutcome, stableFailed: boolean, canaryFailed: boolean, identityHash: () => number | undefined): void {
  switch (o.kind) {
    case "match":
      e.match++;
      break;
    case "mismatch":
      e.mismatch++;
      addId(e.mismatchIds, identityHash());
      break;
    case "canary_error":
      e.canaryError++;
      break;
    case "canary_timeout":
      e.canaryTimeout++;
      break;
    case "skipped":
      e.skipped++;
      break;
  }
  if (canaryFailed !== stableFailed) {
    if (canaryFailed) {
      e.canaryOnly++;
      addId(e.canaryOnlyIds, identityHash());
    } else {
      e.stableOnly++;
      addId(e.stableOnlyIds, identityHash());
    }
  }
  addValue(e.stableLatency, o.stableMs);
  // A timeout or a failed connection has no time to headers to pair.
  if (o.kind === "canary_timeout" || o.canaryStatus === 0) return;
  addValue(e.canaryLatency, o.canaryMs);
  e.pairs++;
  const c = o.canaryMs;
  const s = o.stableMs;
  if (c > s * TAIL_MARGIN + MARGIN_FLOOR_MS) e.canarySlower++;
  else if (s > c * TAIL_MARGIN + MARGIN_FLOOR_MS) e.stableSlower++;
  if (c > s * MID_MARGIN + MARGIN_FLOOR_MS) e.canarySlowerMid++;
  else if (s > c * MID_MARGIN + MARGIN_FLOOR_MS) e.stableSlowerMid++;
}
