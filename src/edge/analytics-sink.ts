// Writes one Analytics Engine data point per request. Positional schema, versioned:
// every slot is mapped once here and documented in README "Analytics Engine schema".
// Index = "<route>:<variant>" so AE's sampling keys on the arm and the small canary arm
// is not sampled away. Nothing is written when the binding is absent (e.g. in tests).
import type { Outcome, OutcomeSink } from "../core/outcome.js";

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

export class AnalyticsSink implements OutcomeSink {
  constructor(private readonly dataset: AnalyticsEngineDataset | undefined) {}

  record(outcome: Outcome): void {
    if (!this.dataset) return;
    try {
      this.dataset.writeDataPoint(toDataPoint(outcome));
    } catch (e) {
      // Telemetry must never fail a request; AE errors (limits) are logged and dropped.
      console.error(JSON.stringify({ level: "warn", msg: "analytics write failed", error: (e as Error).message }));
    }
  }
}
