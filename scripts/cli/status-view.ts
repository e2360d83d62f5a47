// Turns admin API JSON into table rows; shared by `status`, `events` and `watch` so the
// three always show a route the same way. Pure: data and the clock in, text out.
import type { AuditEvent, RouteStatus, StatusResponse } from "../../src/core/admin-protocol.js";
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

export function routesTable(status: StatusResponse, now: number): string {
  return renderTable(
    ["route", "phase", "release", "step", "weight", "epoch", "isolates", "last decision"],
    status.routes.map((r) => [
      r.id,
      r.coordinator.state?.phase ?? "idle",
      r.coordinator.state?.release ?? r.config.release,
      stepText(r),
      `${r.coordinator.effectiveWeight}%`,
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
