// Turns admin API JSON into table rows; shared by `status`, `events` and `watch` so the
// three always show a route the same way. Pure: data and the clock in, text out.
import type { AuditEvent, PlanStageStatus, RingStatus, RouteStatus, StatusResponse } from "../../src/core/admin-protocol.js";
import type { MetricVerdict } from "../../src/core/metrics/metric-stats.js";
import { stageLabels, type RolloutState } from "../../src/core/rollout/state.js";
import { ago, count, isoShort, ms, percent, renderTable, type Cell } from "./table.js";

/**
 * "2 of 5: 5%", "1 of 4: shadow 10%", or "manual". Counted from 1 like the audit log, the
 * API's `step` and the `step` command; the label is the plan's (core/rollout/plan.ts).
 */
export function stepOf(state: RolloutState): string {
  if (state.mode !== "steps") return "manual";
  const stages = stageLabels(state);
  const label = stages[state.stepIndex];
  return `${state.stepIndex + 1} of ${stages.length}${label === undefined ? "" : `: ${label}`}`;
}

const stepText = (r: RouteStatus): string => (r.coordinator.state ? stepOf(r.coordinator.state) : "-");

/** "ago" against the coordinator's own clock (status carries it), so a skewed laptop clock does not lie. */
const decisionText = (r: RouteStatus, now: number): string => {
  const d = r.coordinator.lastDecision;
  if (!d) return "-";
  // The engine's reasons already start with the action ("hold: ..."); do not say it twice.
  const text = d.reason.startsWith(`${d.action}:`) ? d.reason : `${d.action}: ${d.reason}`;
  // A decision from an earlier epoch (an operator or the engine has changed the rollout
  // since) is said to be one, as the dashboard does.
  const state = r.coordinator.state;
  const stale = state && d.epoch !== undefined && d.epoch !== state.epoch ? ", before the last change" : "";
  return `${text} (${ago(d.at, Number.isFinite(r.coordinator.now) ? r.coordinator.now : now)}${stale})`;
};

/** "5%", or "0% + 2 rings" while ring stages serve some audiences more than everyone. */
function weightText(r: RouteStatus): string {
  const w = r.coordinator.effectiveWeight;
  const above = (r.coordinator.rings ?? []).filter((ring) => ring.percent > w).length;
  return above === 0 ? `${w}%` : `${w}% + ${above} ring${above === 1 ? "" : "s"}`;
}

export function routesTable(status: StatusResponse, now: number): string {
  return renderTable(
    ["route", "phase", "release", "step", "weight", "epoch", "isolates", "last decision"],
    status.routes.map((r) => [
      r.id,
      r.coordinator.state?.phase ?? "idle",
      r.coordinator.state?.release ?? r.config.release,
      stepText(r),
      weightText(r),
      r.coordinator.state?.epoch,
      r.coordinator.isolates,
      decisionText(r, now),
    ]),
  );
}

/** Per route and variant: the current step's evidence (status.step.evidence). */
export function evidenceTable(status: StatusResponse): string {
  const rows: Cell[][] = [];
  for (const r of status.routes) {
    const e = r.coordinator.step?.evidence;
    for (const variant of ["stable", "canary"] as const) {
      const a = e?.[variant];
      rows.push([r.id, variant, count(a?.requests), count(a?.errors), percent(a?.errorRate), ms(a?.p50), ms(a?.p95), ms(a?.p99)]);
    }
  }
  return renderTable(["route", "variant", "requests", "errors", "error rate", "p50 ms", "p95 ms", "p99 ms"], rows);
}

const ACTIVE_PHASES: ReadonlySet<string> = new Set(["progressing", "paused"]);

/**
 * The route's plan, each stage with whether it is the current one: the server's
 * (`coordinator.plan`), or, from a server before ring stages, worked out from the state's
 * stage labels (the current stage only while the rollout is progressing or paused).
 */
export function planStages(r: RouteStatus): PlanStageStatus[] {
  if (r.coordinator.plan) return r.coordinator.plan;
  const state = r.coordinator.state;
  if (!state) return [];
  const active = ACTIVE_PHASES.has(state.phase);
  return stageLabels(state).map((label, i) => ({ label, kind: label.startsWith("shadow ") ? "shadow" : "live", current: active && i === state.stepIndex }));
}

/** "staff 100% › [staff+nz 100%] › 1% › 10% › 100%", and the phase when the rollout is not moving along the plan. */
export function planLine(r: RouteStatus): string {
  const text = planStages(r)
    .map((s) => (s.current ? `[${s.label}]` : s.label))
    .join(" \u203a ");
  const state = r.coordinator.state;
  if (!state || ACTIVE_PHASES.has(state.phase)) return text;
  const why = state.phase === "rolled_back" ? `rolled back at step ${state.stepIndex + 1}: serving 0%` : state.phase === "promoted" ? "promoted: 100% everyone" : state.phase;
  return `${text}  (${why})`;
}

/** One row per steps-mode route: its plan with the current stage in brackets; "" when no route has a plan. */
export function planTable(status: StatusResponse): string {
  const rows = status.routes.filter((r) => r.coordinator.state?.mode === "steps" && planStages(r).length > 0).map((r) => [r.id, planLine(r)]);
  return rows.length === 0 ? "" : renderTable(["route", "plan (current stage in [ ])"], rows);
}

const BASELINES: Record<RingStatus["baseline"], string> = { ring: "ring's stable users", all: "all stable users" };

/**
 * Per ring of a plan with ring stages: the share of it the canary serves, its requests,
 * users and errors per arm in the current rollout, and what its canary is compared with.
 * "" when no route reports rings (servers before ring stages never do).
 */
export function ringsTable(status: StatusResponse): string {
  const rows: Cell[][] = [];
  for (const r of status.routes) {
    for (const ring of r.coordinator.rings ?? []) {
      rows.push([
        r.id,
        ring.key,
        `${ring.percent}%`,
        ring.current ? "yes" : "",
        count(ring.canary.requests),
        count(ring.canary.users),
        count(ring.canary.errors),
        count(ring.stable.requests),
        count(ring.stable.users),
        count(ring.stable.errors),
        BASELINES[ring.baseline] ?? ring.baseline,
      ]);
    }
  }
  if (rows.length === 0) return "";
  return renderTable(
    ["route", "ring", "share", "current", "canary requests", "canary users", "canary errors", "stable requests", "stable users", "stable errors", "baseline"],
    rows,
    { right: new Set([2, 4, 5, 6, 7, 8, 9]) },
  );
}

/** +1.23% / -4.10%: a relative difference, signed, so a drop reads as one. */
export const signedPercent = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : `${x > 0 ? "+" : ""}${(x * 100).toFixed(2)}%`;

/** A per-user mean as its kind reads: a conversion as the share of users, others as numbers. */
export function metricMean(kind: MetricVerdict["kind"], mean: number | null): string {
  if (mean === null || !Number.isFinite(mean)) return "-";
  if (kind === "conversion") return percent(mean);
  return Math.abs(mean) >= 100 ? mean.toFixed(1) : mean.toPrecision(3);
}

/** The tolerated change in the bad direction: "-5.00%" for better higher, "+5.00%" for better lower. */
export const metricToleranceText = (m: MetricVerdict): string => signedPercent(m.better === "higher" ? -m.tolerance : m.tolerance);

/**
 * In words: "FAILS" (a guardrail the canary is worse than tolerated on; the rollout fails on
 * it), "worse (observed)" (the same on an observed metric, never acted on), "no data" before
 * both arms have users, else "ok".
 */
export function metricVerdictText(m: MetricVerdict): string {
  if (m.rejects) return m.mode === "guardrail" ? "FAILS" : "worse (observed)";
  return m.relativeDifference === null ? "no data" : "ok";
}

/**
 * Per route and metric of route.metrics: both arms' per-user means and users, the canary's
 * relative difference from stable, its interval, the tolerance and the verdict. "" when no
 * route reports metrics (servers before metrics never do).
 */
export function metricsTable(status: StatusResponse): string {
  const rows: Cell[][] = [];
  for (const r of status.routes) {
    for (const m of r.coordinator.metrics ?? []) {
      rows.push([
        r.id,
        m.name,
        m.kind,
        m.mode,
        metricMean(m.kind, m.stable.mean),
        count(m.stable.users),
        metricMean(m.kind, m.canary.mean),
        count(m.canary.users),
        signedPercent(m.relativeDifference),
        m.interval ? `${signedPercent(m.interval.low)} .. ${signedPercent(m.interval.high)}` : m.relativeDifference === null ? "-" : "unbounded",
        metricToleranceText(m),
        metricVerdictText(m),
      ]);
    }
  }
  if (rows.length === 0) return "";
  return renderTable(
    ["route", "metric", "kind", "mode", "stable mean", "stable users", "canary mean", "canary users", "difference", "interval", "tolerated", "verdict"],
    rows,
    { right: new Set([4, 5, 6, 7, 8, 10]) },
  );
}

/** Warnings an operator must not miss: bad KV config, an isolate in fail-safe. */
export function statusWarnings(status: StatusResponse): string[] {
  const out: string[] = [];
  if (status.configError?.length) out.push(`KV config rejected, last good config in force: ${status.configError.join("; ")}`);
  for (const r of status.routes) {
    if (r.coordinator.configError?.length) out.push(`${r.id}: coordinator config error: ${r.coordinator.configError.join("; ")}`);
    const diverged = r.isolate?.configDiverged ?? r.coordinator.configDiverged;
    if (diverged) out.push(`${r.id}: ${diverged} (the edge serves no more canary than the coordinator allows)`);
    if (r.isolate?.failSafe) out.push(`${r.id}: answering isolate is in fail-safe (stable only): ${r.isolate.lastError ?? "coordinator unreachable"}`);
  }
  return out;
}

const phaseChange = (e: AuditEvent): string => (e.fromPhase && e.fromPhase !== e.toPhase ? `${e.fromPhase} > ${e.toPhase}` : e.toPhase);

export function eventsTable(events: readonly AuditEvent[], now: number): string {
  return renderTable(
    ["id", "time", "", "route", "actor", "event", "phase", "step", "weight", "reason"],
    events.map((e) => [e.id, isoShort(e.at), ago(e.at, now), e.route, e.actor, e.event, phaseChange(e), e.step, `${e.weight}%`, e.reason]),
    { right: new Set([0, 7, 8]) },
  );
}
