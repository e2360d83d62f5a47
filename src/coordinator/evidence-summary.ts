// Evidence turned into numbers a human reads: per arm requests, errors, error rate and
// latency quantiles; and per-window series for the dashboard's charts.
// The shapes are the admin API's (core/admin-protocol.ts).
import type { ArmTraffic, EvidenceSummary, SeriesPoint } from "../core/admin-protocol.js";
import { mergeEvidence, type ArmEvidence, type Evidence } from "../core/evidence.js";
import { quantile } from "../core/stats/ddsketch.js";
import type { EvidenceWindow } from "./store.js";

const round = (x: number): number => Math.round(x * 100) / 100;

function arm(a: ArmEvidence): ArmTraffic {
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

/** One point per time window, steps of the same window merged. */
export function series(windows: EvidenceWindow[]): SeriesPoint[] {
  const byStart = new Map<number, Evidence>();
  for (const b of windows) {
    const prev = byStart.get(b.start);
    byStart.set(b.start, prev ? mergeEvidence(prev, b.evidence) : b.evidence);
  }
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([t, e]) => ({ t, stable: arm(e.stable), canary: arm(e.canary) }));
}
