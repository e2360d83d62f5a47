// The shadow arm of the evidence: what mirrored requests showed, per pair (stable's
// answer to the user, the canary's to the mirror of the same request). It is paired
// evidence, which is what makes it sensitive: both answers come from one request, so
// the engine compares them directly instead of two independent arms.
// - Errors: discordant pairs only. "Only the canary failed" and "only stable failed" are
//   equally likely when the canary is no worse, whatever the base rate (a sign test, as
//   in McNemar's); concordant pairs say nothing about the difference. Counted per
//   identity, like the live arms.
// - Latency: sign counts of REFERENCE pairs only: a share (shadow.latencyPairs) of bodiless
//   GET/HEAD mirrors also go to stable, at the same moment as the canary mirror and under
//   the same isolate conditions, and those two times are compared. The user's stable
//   request left earlier, before the user's response streamed, so its time is no fair
//   partner for the mirror's (the mirror measured 2-13 ms slower against an identical
//   canary). Signs at a tail margin (much slower) and a median margin (slower at all,
//   beyond timer noise), after dividing the canary's time by shadow.latencyTolerance (a
//   canary up to that ratio slower per request is not counted as slower). With the same
//   latency distribution and tolerance 1 both signs are equally likely; a tolerance above 1
//   only moves signs away from "canary slower" (conservative).
// - Mismatches: compared pairs whose answers differed, per request, with the distinct
//   identities behind them (a handful of users cannot fail a stage alone).
// A commutative monoid like Evidence: emptyShadow is the identity, mergeShadow associative.
import { addIdentity, mergeIdentities } from "../identity-list.js";
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
  /**
   * Reference pairs (the canary mirror and a stable request sent with it) where both sides
   * answered, and their sign counts at the tail and median margins. Optional: windows
   * stored before reference pairs lack them (read as 0; their old non-simultaneous
   * `pairs` / `canarySlower` fields are ignored, they were biased against the canary).
   */
  referencePairs?: number;
  refCanarySlower?: number;
  refStableSlower?: number;
  refCanarySlowerMid?: number;
  refStableSlowerMid?: number;
  /** Times to response headers of the mirrored requests: the canary mirror, and the user's stable request (display, and the stage's p99s). */
  canaryLatency: Sketch;
  stableLatency: Sketch;
  /**
   * Times to headers on the reference pairs only, both sides sent together: the latency
   * comparison people should read (the user's stable request runs earlier, under other
   * conditions, so canaryLatency vs stableLatency leans against the canary). Optional:
   * absent in windows stored before them.
   */
  refCanaryLatency?: Sketch;
  refStableLatency?: Sketch;
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
    referencePairs: 0,
    refCanarySlower: 0,
    refStableSlower: 0,
    refCanarySlowerMid: 0,
    refStableSlowerMid: 0,
    canaryLatency: emptySketch(),
    stableLatency: emptySketch(),
    refCanaryLatency: emptySketch(),
    refStableLatency: emptySketch(),
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
  if (!addIdentity((set.ids ??= []), id, MAX_SHADOW_IDS)) set.overflow = (set.overflow ?? 0) + 1;
}

function mergeIds(a: IdSet, b: IdSet): IdSet {
  const { ids, overflow } = mergeIdentities(a.ids, a.overflow ?? 0, b.ids, b.overflow ?? 0, MAX_SHADOW_IDS);
  const out: IdSet = {};
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
    referencePairs: (a.referencePairs ?? 0) + (b.referencePairs ?? 0),
    refCanarySlower: (a.refCanarySlower ?? 0) + (b.refCanarySlower ?? 0),
    refStableSlower: (a.refStableSlower ?? 0) + (b.refStableSlower ?? 0),
    refCanarySlowerMid: (a.refCanarySlowerMid ?? 0) + (b.refCanarySlowerMid ?? 0),
    refStableSlowerMid: (a.refStableSlowerMid ?? 0) + (b.refStableSlowerMid ?? 0),
    canaryLatency: mergeSketches(a.canaryLatency, b.canaryLatency),
    stableLatency: mergeSketches(a.stableLatency, b.stableLatency),
    refCanaryLatency: mergeSketches(a.refCanaryLatency ?? emptySketch(), b.refCanaryLatency ?? emptySketch()),
    refStableLatency: mergeSketches(a.refStableLatency ?? emptySketch(), b.refStableLatency ?? emptySketch()),
  };
}

/** shadow.latencyTolerance's default: a canary up to 10% slower per request is not counted as slower. */
export const DEFAULT_LATENCY_TOLERANCE = 1.1;

/**
 * Adds one mirror's outcome. `stableFailed` and `canaryFailed` are the guardrails'
 * verdicts on each answer (a canary timeout or connection failure is a failure);
 * `identityHash` is the request's identity hashed (evidence.ts identityHash), needed only
 * for a discordant pair or a mismatch; `latencyTolerance` is shadow.latencyTolerance (>= 1),
 * the ratio the canary's time is divided by before the signs are counted. Only an outcome
 * with a `reference` (a stable request sent with the mirror) and both times adds signs.
 */
export function recordShadowOutcome(
  e: ShadowEvidence,
  o: ShadowOutcome,
  stableFailed: boolean,
  canaryFailed: boolean,
  identityHash: () => number | undefined,
  latencyTolerance = DEFAULT_LATENCY_TOLERANCE,
): void {
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
  const ref = o.reference;
  if (ref === undefined || ref.status === 0) return;
  addValue((e.refCanaryLatency ??= emptySketch()), o.canaryMs);
  addValue((e.refStableLatency ??= emptySketch()), ref.ms);
  countSigns(e, o.canaryMs / Math.max(1, latencyTolerance), ref.ms);
}

/** One reference pair's signs: `c` the canary's time already divided by the tolerance, `s` the stable reference's. */
function countSigns(e: ShadowEvidence, c: number, s: number): void {
  e.referencePairs = (e.referencePairs ?? 0) + 1;
  if (c > s * TAIL_MARGIN + MARGIN_FLOOR_MS) e.refCanarySlower = (e.refCanarySlower ?? 0) + 1;
  else if (s > c * TAIL_MARGIN + MARGIN_FLOOR_MS) e.refStableSlower = (e.refStableSlower ?? 0) + 1;
  if (c > s * MID_MARGIN + MARGIN_FLOOR_MS) e.refCanarySlowerMid = (e.refCanarySlowerMid ?? 0) + 1;
  else if (s > c * MID_MARGIN + MARGIN_FLOOR_MS) e.refStableSlowerMid = (e.refStableSlowerMid ?? 0) + 1;
}
