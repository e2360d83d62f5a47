// A route's release plan: the ordered stages its rollout goes through. `steps.weights`
// is shorthand for live stages; `steps.stages` names each stage's kind; manual mode is a
// plan of one live stage at `weight`. Every reader of "what does this step do" (the
// state machine, the edge, the engine, status) goes through here, so a new stage kind
// is a new case in Stage, in the schema and in the engine's evidence, and nothing else.
import type { RouteConfig } from "../config/schema.js";

export type Stage =
  /** `percent` of users (by cohort) are served by the canary. */
  | { kind: "live"; percent: number }
  /** Requests of `percent` of users (by cohort) are mirrored to the canary; every user is served by stable. */
  | { kind: "shadow"; percent: number };

export type StageKind = Stage["kind"];

const plans = new WeakMap<RouteConfig, readonly Stage[]>();

/** The route's plan, memoised per parsed route (the request path asks on every request). */
export function planOf(route: RouteConfig): readonly Stage[] {
  let plan = plans.get(route);
  if (plan === undefined) plans.set(route, (plan = buildPlan(route)));
  return plan;
}

function buildPlan(route: RouteConfig): Stage[] {
  const steps = route.steps;
  if (steps === undefined) return [{ kind: "live", percent: route.weight }];
  if (steps.stages !== undefined) {
    return steps.stages.map((s): Stage => ("shadow" in s ? { kind: "shadow", percent: s.shadow.percent } : { kind: "live", percent: s.percent }));
  }
  return (steps.weights ?? []).map((percent): Stage => ({ kind: "live", percent }));
}

/**
 * The plan's stage at a step index. The config may have fewer stages than a state
 * remembers until the coordinator sees the edit: the last stage, rather than nothing or an
 * out-of-range read.
 */
export function stageAt(plan: readonly Stage[], stepIndex: number): Stage | undefined {
  return plan[Math.min(Math.max(0, Math.trunc(stepIndex)), plan.length - 1)];
}

/** Canary weight users are served at in a stage: 0 in a shadow stage. */
export const liveWeight = (stage: Stage | undefined): number => (stage?.kind === "live" ? stage.percent : 0);

/** Share of users mirrored in a stage: 0 outside a shadow stage. */
export const shadowPercent = (stage: Stage | undefined): number => (stage?.kind === "shadow" ? stage.percent : 0);

/** A stage as people read it, and as the state keeps it: "5%", "shadow 10%". */
export function stageLabel(stage: Stage): string {
  return stage.kind === "shadow" ? `shadow ${stage.percent}%` : `${stage.percent}%`;
}

/** Reads a label back (stageLabel's inverse); undefined for anything else. */
export function parseStageLabel(label: string): Stage | undefined {
  const m = /^(shadow )?(\d+(?:\.\d+)?)%$/.exec(label);
  if (!m) return undefined;
  return { kind: m[1] ? "shadow" : "live", percent: Number(m[2]) };
}
