// Evidence turned into numbers a human reads: per arm requests, errors, error rate and
// latency quantiles; per-window series for the dashboard's charts; and the shadow report.
// The shapes are the admin API's (core/admin-protocol.ts).
import type { ArmTraffic, EvidenceSummary, RingArmStatus, RingStatus, SeriesPoint, ShadowReport } from "../core/admin-protocol.js";
import type { Ring } from "../core/rollout/plan.js";
import { countUsers, emptyUsers, mergeUsers } from "../core/stats/distinct-users.js";
import { ringBaseline } from "../core/stats/ring-baseline.js";
import { emptyShadow, mergeShadow, type ShadowEvidence } from "../core/shadow/shadow-evidence.js";
import type { MismatchSample } from "../core/shadow/shadow-outcome.js";
import { mergeEvidence, type ArmEvidence, type Evidence, type RingEvidence } from "../core/evidence.js";
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

/**
 * The shadow report (GET /routes/:id/shadow) from the release's shadow-stage windows:
 * outcome counts, the mismatch rate over compared mirrors (match + mismatch + skipped),
 * the p50/p99 of both sides' times to headers on the reference pairs (sent together; the
 * user's own stable request when there are none, marked so), and the samples.
 */
/** Reference pairs when there are any (a fair comparison), else every mirror against the users' requests. */
function latencyOf(e: ShadowEvidence, q: (s: ShadowEvidence["stableLatency"], p: number) => number | null): ShadowReport["latency"] {
  const ref = e.refStableLatency && e.refCanaryLatency && e.refStableLatency.count > 0 ? { stable: e.refStableLatency, canary: e.refCanaryLatency } : undefined;
  const [s, c] = ref ? [ref.stable, ref.canary] : [e.stableLatency, e.canaryLatency];
  return {
    source: ref ? "reference" : "user",
    pairs: ref ? ref.stable.count : Math.min(e.stableLatency.count, e.canaryLatency.count),
    stable: { p50: q(s, 0.5), p99: q(s, 0.99) },
    canary: { p50: q(c, 0.5), p99: q(c, 0.99) },
  };
}

export function shadowReport(input: { route: string; release: string | null; stage: string | null; windows: readonly EvidenceWindow[]; samples: MismatchSample[] }): ShadowReport {
  let e = emptyShadow();
  for (const w of input.windows) if (w.evidence.shadow) e = mergeShadow(e, w.evidence.shadow);
  const compared = e.match + e.mismatch + e.skipped;
  const q = (s: ShadowEvidence["stableLatency"], p: number): number | null => (s.count > 0 ? round(quantile(s, p)) : null);
  return {
    route: input.route,
    release: input.release,
    stage: input.stage,
    outcomes: { match: e.match, mismatch: e.mismatch, canary_error: e.canaryError, canary_timeout: e.canaryTimeout, skipped: e.skipped },
    mismatchRate: compared > 0 ? e.mismatch / compared : null,
    latency: latencyOf(e, q),
    samples: input.samples,
  };
}

/** Requests, errors and distinct users per arm of each ring (by key), summed over windows. */
export type RingTotals = Record<string, { stable: RingArm; canary: RingArm }>;

/** Adds the windows' ring evidence into `into` (mutates; users sketches merged, never aliased). */
export function addRingWindows(into: RingTotals, windows: readonly EvidenceWindow[]): void {
  for (const w of windows) {
    for (const [key, r] of Object.entries(w.evidence.rings ?? {}) as Array<[string, RingEvidence]>) {
      const t = (into[key] ??= { stable: emptyRingArm(), canary: emptyRingArm() });
      addRingArm(t.stable, r.stable);
      addRingArm(t.canary, r.canary);
    }
  }
}

/** A copy of `t` (its arms' sketches are replaced on merge, never mutated, so sharing them is safe). */
export const copyRingTotals = (t: RingTotals): RingTotals => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { stable: { ...v.stable }, canary: { ...v.canary } }]));

/**
 * Status per ring of the current exposure (plan order): the share the canary serves it at
 * (its percent, or everyone's if higher), its requests, errors and distinct users per arm
 * over the rollout (`totals`), and the baseline the engine compares it with (ring-baseline.ts).
 */
export function ringStatuses(input: { rings: readonly Ring[]; everyone: number; current: string | undefined; totals: RingTotals }): RingStatus[] {
  return input.rings.map((ring) => {
    const percent = Math.max(ring.percent, input.everyone);
    const t = input.totals[ring.key];
    return {
      key: ring.key,
      percent,
      current: ring.key === input.current,
      canary: ringArm(t?.canary),
      stable: ringArm(t?.stable),
      baseline: ringBaseline(percent),
    };
  });
}

interface RingArm {
  requests: number;
  errors: number;
  users: ReturnType<typeof emptyUsers> | undefined;
}
const emptyRingArm = (): RingArm => ({ requests: 0, errors: 0, users: undefined });
function addRingArm(into: RingArm, a: ArmEvidence): void {
  into.requests += a.requests;
  into.errors += a.errors;
  if (a.users) into.users = mergeUsers(into.users ?? emptyUsers(), a.users);
}
/** users: null when no request of the arm carried an identity (nothing to count). */
const ringArm = (a: RingArm | undefined): RingArmStatus => ({ requests: a?.requests ?? 0, errors: a?.errors ?? 0, users: a?.users ? countUsers(a.users) : a && a.requests > 0 ? null : 0 });
