// Analytics Engine SQL for the `edge_canary` dataset (layout: src/edge/analytics-sink.ts).
// Functions used (SUM, sumIf, quantileExactWeighted, toStartOfInterval) are from the AE
// SQL reference: https://developers.cloudflare.com/analytics/analytics-engine/sql-reference/
// Every figure is weighted by `_sample_interval`, because AE samples at high volume and
// each stored row then stands for `_sample_interval` requests: counts are
// SUM(_sample_interval), latencies quantileExactWeighted(q)(double1, _sample_interval).
// An unweighted COUNT() or quantile would under-count exactly the busy arm.
// The SQL API has no bind parameters, so the route id is interpolated as a literal,
// but only after it passed the config schema's own id pattern ([a-z0-9_-]), which
// leaves no room for a quote. The filter is on blob1 (route), not index1: index1 is
// "<route>:<variant>" trimmed to 64 bytes, which cuts long route ids.
// Metric events are points of variant "metric" (blob2): the request queries leave them
// out, and the metric queries read only them, first per user (blob13) and then per arm
// (blob11), so a busy user weighs as one user, as in the engine.
import { RouteSchema } from "../../src/core/config/schema.js";

export const DATASET = "edge_canary";
/** double3 of every point; rows of another layout version are left out. */
export const AE_SCHEMA_VERSION = 1;
/** AE keeps data for three months. */
export const MAX_WINDOW_SEC = 92 * 86_400;

export interface QueryParams {
  /** Look-back window in seconds. */
  sinceSec: number;
  /** Only this route; all routes when absent. */
  route?: string;
}

export interface QueryDef {
  name: string;
  description: string;
  sql(p: QueryParams): string;
}

/** Same rule as countsAsError (src/core/error-outcome.ts): error kind set, or a 5xx. */
const IS_ERROR = "blob9 != 'none' OR double2 >= 500";

const requests = "SUM(_sample_interval) AS requests";
const errors = `sumIf(_sample_interval, ${IS_ERROR}) AS errors`;
const errorRate = `sumIf(_sample_interval, ${IS_ERROR}) / SUM(_sample_interval) AS error_rate`;
/** Request queries: every point but metric events (requests and shadow comparisons). */
const NOT_METRIC = "AND blob2 != 'metric'";
const q = (p: number): string => `quantileExactWeighted(${p})(double1, _sample_interval) AS p${Math.round(p * 100)}_ms`;

export class QueryInputError extends Error {}

/** The route id as a SQL string literal, or an error when it is not a valid id. */
export function routeLiteral(route: string): string {
  if (!RouteSchema.shape.id.safeParse(route).success) {
    throw new QueryInputError(`route "${route}" is not a valid route id (1-63 chars of a-z, 0-9, - and _)`);
  }
  return `'${route}'`;
}

/** The largest unit that states the window exactly: INTERVAL '1' HOUR, not '3600' SECOND. */
function interval(sec: number): string {
  for (const [unit, size] of [["DAY", 86_400], ["HOUR", 3600], ["MINUTE", 60]] as const) {
    if (sec % size === 0) return `INTERVAL '${sec / size}' ${unit}`;
  }
  return `INTERVAL '${sec}' SECOND`;
}

/** WHERE clause shared by every query: time window, layout version, optional route. */
export function whereClause(p: QueryParams): string {
  if (!Number.isInteger(p.sinceSec) || p.sinceSec <= 0 || p.sinceSec > MAX_WINDOW_SEC) {
    throw new QueryInputError(`window must be 1 s to ${MAX_WINDOW_SEC / 86_400} days`);
  }
  const clauses = [`timestamp > NOW() - ${interval(p.sinceSec)}`, `double3 = ${AE_SCHEMA_VERSION}`];
  if (p.route !== undefined) clauses.push(`blob1 = ${routeLiteral(p.route)}`);
  return `WHERE ${clauses.join("\n  AND ")}`;
}

export const QUERIES: readonly QueryDef[] = [
  {
    name: "variants",
    description: "Per route and variant: requests, errors, error rate, p50/p95/p99 origin latency.",
    sql: (p) => `SELECT
  blob1 AS route,
  blob2 AS variant,
  ${requests},
  ${errors},
  ${errorRate},
  ${q(0.5)},
  ${q(0.95)},
  ${q(0.99)}
FROM ${DATASET}
${whereClause(p)}
  ${NOT_METRIC}
GROUP BY route, variant
ORDER BY route, variant
FORMAT JSON`,
  },
  {
    name: "colos",
    description: "Per colo and variant: requests, error rate, p95 origin latency (busiest first).",
    sql: (p) => `SELECT
  blob4 AS colo,
  blob2 AS variant,
  ${requests},
  ${errorRate},
  ${q(0.95)}
FROM ${DATASET}
${whereClause(p)}
  ${NOT_METRIC}
GROUP BY colo, variant
ORDER BY requests DESC
LIMIT 200
FORMAT JSON`,
  },
  {
    name: "errors",
    description: "Per variant, status class and error kind: requests, and how many a canary fallback served.",
    sql: (p) => `SELECT
  blob2 AS variant,
  blob7 AS status_class,
  blob9 AS error_kind,
  ${requests},
  sumIf(_sample_interval, blob8 = '1') AS fallbacks
FROM ${DATASET}
${whereClause(p)}
  ${NOT_METRIC}
GROUP BY variant, status_class, error_kind
ORDER BY variant, requests DESC
FORMAT JSON`,
  },
  {
    name: "timeline",
    description: "Per 5-minute bucket and variant: requests, error rate, p95 origin latency.",
    sql: (p) => `SELECT
  toStartOfInterval(timestamp, INTERVAL '5' MINUTE) AS t,
  blob2 AS variant,
  ${requests},
  ${errorRate},
  ${q(0.95)}
FROM ${DATASET}
${whereClause(p)}
  ${NOT_METRIC}
GROUP BY t, variant
ORDER BY t, variant
FORMAT JSON`,
  },
  {
    name: "shadow",
    description: "Shadow mismatch rate by path: mirrors compared, mismatches and their share, canary failures and skipped (most mismatches first).",
    // Shadow comparisons are the points whose variant (blob2) is "shadow"; blob10 is the
    // outcome and blob12 the path without its query (src/edge/analytics-sink.ts). The rate
    // is over every mirror of the path, so a path's row never divides by zero.
    sql: (p) => `SELECT
  blob1 AS route,
  blob12 AS path,
  ${requests},
  sumIf(_sample_interval, blob10 = 'mismatch') AS mismatches,
  sumIf(_sample_interval, blob10 = 'mismatch') / SUM(_sample_interval) AS mismatch_rate,
  sumIf(_sample_interval, blob10 = 'canary_error' OR blob10 = 'canary_timeout') AS canary_failures,
  sumIf(_sample_interval, blob10 = 'skipped') AS skipped
FROM ${DATASET}
${whereClause(p)}
  AND blob2 = 'shadow'
GROUP BY route, path
ORDER BY mismatches DESC, requests DESC
LIMIT 200
FORMAT JSON`,
  },
  {
    name: "metrics",
    description: "Per route, arm and metric: users with events, events, events per user and the mean over users of each user's mean value.",
    // The inner query is one row per user (blob13, the pseudonymous key): their events and
    // the mean of their values, weighted by _sample_interval; the outer one averages over
    // users. Inner names differ from the outer aliases: ClickHouse would read SUM(events)
    // AS events as an aggregate inside an aggregate where the alias is used again. Users
    // without events are not in Analytics Engine, so a conversion's share of exposed
    // users is the coordinator's (canary status), not this.
    sql: (p) => `SELECT
  route,
  variant,
  metric,
  SUM(1) AS users,
  SUM(user_events) AS events,
  SUM(user_events) / SUM(1) AS events_per_user,
  SUM(user_mean) / SUM(1) AS per_user_mean
FROM (
  SELECT
    blob1 AS route,
    blob11 AS variant,
    blob10 AS metric,
    blob13 AS user_key,
    SUM(_sample_interval) AS user_events,
    SUM(_sample_interval * double5) / SUM(_sample_interval) AS user_mean
  FROM ${DATASET}
  ${whereClause(p).replace(/\n/g, "\n  ")}
    AND blob2 = 'metric'
  GROUP BY route, variant, metric, user_key
)
GROUP BY route, variant, metric
ORDER BY route, metric, variant
FORMAT JSON`,
  },
  {
    name: "conversions",
    description: "Per hour, route, arm and metric: users with the event (converting users) and events.",
    sql: (p) => `SELECT
  t,
  route,
  variant,
  metric,
  SUM(1) AS users,
  SUM(user_events) AS events
FROM (
  SELECT
    toStartOfInterval(timestamp, INTERVAL '1' HOUR) AS t,
    blob1 AS route,
    blob11 AS variant,
    blob10 AS metric,
    blob13 AS user_key,
    SUM(_sample_interval) AS user_events
  FROM ${DATASET}
  ${whereClause(p).replace(/\n/g, "\n  ")}
    AND blob2 = 'metric'
  GROUP BY t, route, variant, metric, user_key
)
GROUP BY t, route, variant, metric
ORDER BY t, route, metric, variant
FORMAT JSON`,
  },
];

export function findQuery(name: string): QueryDef | undefined {
  return QUERIES.find((d) => d.name === name);
}
