// The origin's metrics header (route.metricSources.originHeader, x-canary-metrics by
// default): name=value pairs, comma-separated, e.g. `quality=0.82, tokens=312, checkout=1`.
// The origin is ours but its header is still untrusted text on the request path: the
// parse is bounded (MAX_HEADER_CHARS, MAX_PAIRS), never throws, and skips what it cannot
// read, so one bad pair costs only itself.
import type { MetricConfig } from "../config/schema.js";

/** Longest header value read; a longer one is read up to here (its last, cut pair is skipped). */
export const MAX_HEADER_CHARS = 1024;
/** Pairs read at most; the rest are ignored. */
export const MAX_PAIRS = 32;

/** A metric name as MetricSchema has it. */
const NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** A decimal number, optionally signed, with a fraction and an exponent: no hex, no Infinity, no NaN. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface OriginMetric {
  name: string;
  value: number;
}

/**
 * The events the header carries for the route's metrics, in header order; a name may repeat
 * (each is an event). Names outside `metrics`, malformed pairs and non-finite values are skipped.
 */
export function parseOriginMetrics(header: string | null, metrics: readonly MetricConfig[]): OriginMetric[] {
  const out: OriginMetric[] = [];
  if (header === null || header.length === 0 || metrics.length === 0) return out;
  const cut = header.length > MAX_HEADER_CHARS;
  const parts = (cut ? header.slice(0, MAX_HEADER_CHARS) : header).split(",", MAX_PAIRS + 1);
  // A value cut at MAX_HEADER_CHARS would be read as another number (312 as 31): dropped.
  const last = cut ? parts.length - 1 : parts.length;
  for (let i = 0; i < Math.min(last, MAX_PAIRS); i++) {
    const part = parts[i]!;
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!NAME.test(name) || !NUMBER.test(raw)) continue;
    if (!metrics.some((m) => m.name === name)) continue;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    out.push({ name, value });
  }
  return out;
}
