// Writes one Analytics Engine data point per request, and one per shadow comparison.
// Positional schema, versioned: every slot is mapped once here and documented in
// docs/reference.md "Analytics Engine schema". Index = "<route>:<variant>" so AE's
// sampling keys on the arm and the small canary arm is not sampled away; a comparison's
// variant is "shadow", so mirrors are their own arm and never count as a live one. A
// comparison fills the request slots with the canary's side of the mirror (blob7/blob9,
// double1/double2), so the shipped per-variant queries read it as they read a request,
// and adds blob10-blob12 and double5-double6. Nothing is written when the binding is
// absent (e.g. in tests).
import type { Outcome, OutcomeSink } from "../core/outcome.js";
import type { ShadowOutcome, ShadowSink } from "../core/shadow/shadow-outcome.js";

export const AE_SCHEMA_VERSION = 1;
const MAX_BLOB = 64;

const trim = (s: string): string => (s.length > MAX_BLOB ? s.slice(0, MAX_BLOB) : s);

export const statusClass = (o: Outcome): string => (o.status === 0 ? o.errorKind : `${Math.floor(o.status / 100)}xx`);

/** The data point for an outcome (exported so tests can check the layout). */
export function toDataPoint(o: Outcome): AnalyticsEngineDataPoint {
  return {
    indexes: [trim(`${o.routeId}:${o.variant}`)],
    blobs: [
      trim(o.routeId), // blob1 route id
      o.variant, // blob2 variant: stable | canary
      trim(o.release), // blob3 release id
      trim(o.colo), // blob4 colo (request.cf.colo), "" locally
      trim(o.country), // blob5 country (request.cf.country), "" locally
      trim(o.method), // blob6 HTTP method
      statusClass(o), // blob7 status class: 2xx..5xx, or network | timeout
      o.fallback ? "1" : "0", // blob8 served by stable after a canary failure
      o.errorKind, // blob9 error kind: none | status | network | timeout
    ],
    doubles: [
      o.originMs, // double1 origin time to headers, ms
      o.status, // double2 HTTP status, 0 when none
      AE_SCHEMA_VERSION, // double3 schema version
      o.bytes, // double4 response bytes from Content-Length, -1 unknown
    ],
  };
}

/** The canary's error kind in a mirror, as blob9 names it for a request. */
function shadowErrorKind(o: ShadowOutcome): string {
  if (o.kind === "canary_timeout") return "timeout";
  if (o.canaryStatus === 0) return "network";
  return o.kind === "canary_error" ? "status" : "none";
}

/** The data point for one shadow comparison (exported so tests can check the layout). */
export function toShadowDataPoint(o: ShadowOutcome): AnalyticsEngineDataPoint {
  const errorKind = shadowErrorKind(o);
  return {
    indexes: [trim(`${o.routeId}:shadow`)],
    blobs: [
      trim(o.routeId), // blob1 route id
      "shadow", // blob2 variant: shadow (a mirrored request's comparison)
      trim(o.release), // blob3 release id
      trim(o.colo), // blob4 colo
      trim(o.country), // blob5 country
      trim(o.method), // blob6 HTTP method
      o.canaryStatus === 0 ? errorKind : `${Math.floor(o.canaryStatus / 100)}xx`, // blob7 canary status class, or network | timeout
      "0", // blob8 fallback: never (the user was served by stable)
      errorKind, // blob9 the canary's error kind: none | status | network | timeout
      o.kind, // blob10 shadow outcome: match | mismatch | canary_error | canary_timeout | skipped
      o.part ?? "", // blob11 mismatch part: status | headers | body | json, "" otherwise
      trim(o.path), // blob12 request path, never the query string
    ],
    doubles: [
      o.canaryMs, // double1 canary time to headers, ms
      o.canaryStatus, // double2 canary HTTP status, 0 when none
      AE_SCHEMA_VERSION, // double3 schema version
      -1, // double4 response bytes: not recorded for a mirror
      o.stableMs, // double5 stable time to headers, ms
      o.stableStatus, // double6 stable HTTP status, 0 when none
    ],
  };
}

export class AnalyticsSink implements OutcomeSink, ShadowSink {
  constructor(private readonly dataset: AnalyticsEngineDataset | undefined) {}

  record(outcome: Outcome): void {
    this.write(outcome, toDataPoint);
  }

  recordShadow(outcome: ShadowOutcome): void {
    this.write(outcome, toShadowDataPoint);
  }

  private write<T>(outcome: T, toPoint: (o: T) => AnalyticsEngineDataPoint): void {
    if (!this.dataset) return;
    try {
      this.dataset.writeDataPoint(toPoint(outcome));
    } catch (e) {
      // Telemetry must never fail a request; AE errors (limits) are logged and dropped.
      console.error(JSON.stringify({ level: "warn", msg: "analytics write failed", error: (e as Error).message }));
    }
  }
}
