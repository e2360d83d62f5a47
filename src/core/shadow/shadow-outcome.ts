// What one mirrored request yielded: the unit of shadow telemetry and evidence. The
// edge makes one per mirror (src/edge/shadow-mirror.ts) once both answers are in (or
// the canary's failed); the coordinator client turns it into evidence, the analytics
// sink into one data point, and a mismatch into a sample.

/** match: the canary agreed with stable; mismatch: a compared part differed; canary_error:
 *  the canary's answer counts as failed (guardrails) or its connection failed; canary_timeout:
 *  no response headers within the canary's timeoutMs; skipped: a body was larger than
 *  shadow.maxBodyBytes, so only status and headers were compared (and they agreed). */
export type ShadowOutcomeKind = "match" | "mismatch" | "canary_error" | "canary_timeout" | "skipped";

/** The first part of the comparison that differed. */
export type MismatchPart = "status" | "headers" | "body" | "json";

export interface ShadowOutcome {
  routeId: string;
  release: string;
  method: string;
  /** Path of the request, without the query string (which may carry tokens). */
  path: string;
  kind: ShadowOutcomeKind;
  /** For a mismatch: which part differed, and what (header names, the first differing JSON paths or byte offset); at most MAX_DETAIL chars. */
  part?: MismatchPart;
  detail?: string;
  /** Statuses and times to response headers, ms; status 0 when none came. */
  stableStatus: number;
  canaryStatus: number;
  stableMs: number;
  canaryMs: number;
  /**
   * The stable reference request sent with the mirror, at the same moment (a share
   * shadow.latencyPairs of bodiless GET/HEAD mirrors): its status (0 when it failed or
   * timed out) and time to headers, measured like canaryMs. Only these pairs are timed.
   */
  reference?: { status: number; ms: number };
  colo: string;
  country: string;
  /** The cohort identity (hashed by the evidence only when needed). */
  identity?: string;
}

/** Longest `detail` kept: enough to see what differed, small enough for a sample list and a blob. */
export const MAX_DETAIL = 300;

/** One mismatch as the coordinator keeps it and the admin API shows it: no cookies, no auth, no query. */
export interface MismatchSample {
  /** ms epoch at the isolate. */
  at: number;
  release: string;
  method: string;
  path: string;
  part: MismatchPart;
  detail: string;
  stableStatus: number;
  canaryStatus: number;
}

/** Samples an isolate sends per sync, and the coordinator keeps per route (newest first). */
export const SAMPLES_PER_SYNC = 5;
export const SAMPLES_KEPT = 20;

/** Receives every mirrored request's outcome (after the user's response is on its way). */
export interface ShadowSink {
  /** A returned promise is kept alive by the caller (as OutcomeSink.record's). */
  recordShadow(outcome: ShadowOutcome): void | Promise<void>;
}
