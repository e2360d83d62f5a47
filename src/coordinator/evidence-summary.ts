// Evidence turned into numbers a human reads: per arm requests, errors, error rate and
// latency quantiles; and per-bucket series for the dashboard's charts.
import type { ArmEvidence, Evidence } from "../core/evidence.js";
import { quantile } from "../core/stats/ddsketch.js";
import { mergeEvidence } from "../core/evidence.js";
import type { Bucket } from "./store.js";

export interface ArmSummary {
  requests: number;
  errors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface EvidenceSummary {
  stable: ArmSummary;
  canary: ArmSummary;
  /** Observed canary share of requests, 0..1. */
  canaryShare: number;
}

export interface SeriesPoint {
  t: number;
  stable: ArmSummary;
  canary: ArmSummary;
}

const round = (x: number): number => Math.round(x * 100) / 100;

function arm(a: ArmEvidence): ArmSummary {
  const q = (p: number): number | null => (a.requests > 0 ? round(quantile(a.latency, p)) : null);
  return {
    requests: a.requests,
    errors: a.errors,
    errorRate: a.requests > 0 ? a.errors / a.requests : 0,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

export function summarize(e: Evidence): EvidenceSummary {
  const total = e.stable.requests + e.canary.requests;
  return { stable: arm(e.stable), canary: arm(e.canary), canaryShare: total > 0 ? e.canary.requests / total : 0 };
}

/** One point per time bucket, steps of the same bucket merged. */
export function series(buckets: Bucket[]): SeriesPoint[] {
  const byStart = new Map<number, Evidence>();
  for (const b of buckets) {
    const prev = byStart.get(b.start);
    byStart.set(b.start, prev ? mergeEvidence(prev, b.evidence) : b.evidence);
  }
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([t, e]) => ({ t, stable: arm(e.stable), canary: arm(e.canary) }));
}
