// A business or browser metric event: one named value for one user, from the origin (a
// response header), the browser (a beacon) or the injected script. The variant is always
// the server's attribution (the request's identity under the route's cohort split), never
// the client's word. Events go to every MetricSink: the coordinator's per-user evidence
// and Analytics Engine.
import type { Variant } from "../config/schema.js";

/** Where an event came from: the origin's response header, a beacon, or the injected script's beacon. */
export type MetricSource = "origin" | "beacon" | "script";

export interface MetricEvent {
  routeId: string;
  release: string;
  variant: Variant;
  /** The cohort identity the event is attributed to (verified where the source is the browser). */
  identity: string;
  /** A metric name of route.metrics (events of other names are dropped before a sink sees them). */
  name: string;
  /** The event's value: 1 for a conversion or an error, ms for LCP and INP, the score for CLS, a model's quality score. */
  value: number;
  source: MetricSource;
}

export interface MetricSink {
  recordMetric(event: MetricEvent): void | Promise<void>;
}

/**
 * Names the injected script reports on its own (route.metricSources.webVitals / errors);
 * a route acts on them only when route.metrics defines them.
 */
export const BROWSER_METRICS = { jsError: "js_error", lcp: "lcp", inp: "inp", cls: "cls" } as const;
