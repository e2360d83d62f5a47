// Writes one Analytics Engine data point per request, and one per shadow comparison.
// Positional schema, versioned: every slot is mapped once here and documented in
// docs/reference.md "Analytics Engine schema". Index = "<route>:<variant>" so AE's
// sampling keys on the arm and the small canary arm is not sampled away; a comparison's
// variant is "shadow", so mirrors are their own arm and never count as a live one. A
// comparison fills the request slots with the canary's side of the mirror (blob7/blob9,
// double1/double2), so the shipped per-variant queries read it as they read a request,
// and adds blob10-blob12 and double5-double6. A metric event's point has variant
// "metric" (blob2) so no request query counts it as a request: its own slots say which
// metric (blob10), which arm the server attributed it to (blob11), where it came from
// (blob12) and whose it was (blob13, a pseudonymous key of the identity: the SQL groups by
// it for per-user means, and a user id never reaches the dataset), the value in double5.
// Nothing is written when the binding is absent (e.g. in tests).
import { murmur3 } from "../core/bucket.js";
import type { MetricEvent, MetricSink } from "../core/metrics/metric-event.js";
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

/** blob2 of a metric event's point: its own arm, never a live one. */
export const METRIC_POINT = "metric";

/**
 * A 64-bit pseudonymous key of an identity, as 16 hex characters: two 32-bit murmur3
 * hashes, so users of one arm do not collide at the sizes AE queries group (a 32-bit key
 * would merge a pair of users in every ~90,000). Unsalted: it hides a user id from a
 * reader of the dataset, not from someone who can guess the id.
 */
export const userKey = (identity: string): string =>
  murmur3(identity, 0x6d657472).toString(16).padStart(8, "0") + murmur3(identity, 0x69637321).toString(16).padStart(8, "0");

/** The data point for one metric event (exported so tests can check the layout). */
export function toMetricDataPoint(e: MetricEvent): AnalyticsEngineDataPoint {
  return {
    indexes: [trim(`${e.routeId}:metric:${e.variant}`)],
    blobs: [
      trim(e.routeId), // blob1 route id
      METRIC_POINT, // blob2 variant: metric (an event, not a request)
      trim(e.release), // blob3 release id
      "", // blob4 colo: not recorded for an event
      "", // blob5 country: not recorded for an event
      "", // blob6 method: none
      "", // blob7 status class: none
      "0", // blob8 fallback: never
      "none", // blob9 error kind: none (an event is never a request error)
      trim(e.name), // blob10 metric name (route.metrics[].name)
      e.variant, // blob11 the arm the server attributed the event to: stable | canary
      e.source, // blob12 source: origin | beacon | script
      userKey(e.identity), // blob13 pseudonymous user key (16 hex)
    ],
    doubles: [
      0, // double1 origin time: none
      0, // double2 HTTP status: none
      AE_SCHEMA_VERSION, // double3 schema version
      -1, // double4 response bytes: none
      e.value, // double5 the event's value
    ],
  };
}

export class AnalyticsSink implements OutcomeSink, ShadowSink, MetricSink {
  constructor(private readonly dataset: AnalyticsEngineDataset | undefined) {}

  record(outcome: Outcome): void {
    this.write(outcome, toDataPoint);
  }

  recordShadow(outcome: ShadowOutcome): void {
    this.write(outcome, toShadowDataPoint);
  }

  recordMetric(event: MetricEvent): void {
    this.write(event, toMetricDataPoint);
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
