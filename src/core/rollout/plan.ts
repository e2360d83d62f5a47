// A route's release plan: the ordered stages its rollout goes through. `steps.weights`
// is shorthand for live stages of everyone; `steps.stages` names each stage's kind (and a
// live stage's audience, for a ring); manual mode is a plan of one live stage at `weight`.
// Every reader of "what does this step do" (the state machine, the edge, the engine,
// status) goes through here, so a new stage kind is a new case in Stage, in the schema
// and in the engine's evidence, and nothing else.
import type { RouteConfig, StageConfig } from "../config/schema.js";

/** Who a ring stage is for: a request in any of the named segments, data centers or continents. */
export interface Audience {
  segments: readonly string[];
  colos: readonly string[];
  continents: readonly string[];
}

export type Stage =
  /** `percent` of users (by cohort) are served by the canary: of everyone, or of `audience` only (a ring stage). */
  | { kind: "live"; percent: number; audience?: Audience }
  /** Requests of `percent` of users (by cohort) are mirrored to the canary; every user is served by stable. */
  | { kind: "shadow"; percent: number };

export type StageKind = Stage["kind"];

/** An audience and the share of it the canary serves at a step: every ring stage so far, at its highest percent. */
export interface Ring {
  /** The audience as a label ("staff+nz", "colo:AKL+colo:SYD"): the ring's name in evidence and status. */
  key: string;
  audience: Audience;
  percent: number;
}

/**
 * Who gets the canary at a step. Exposure accumulates along the plan: `everyone` is the
 * highest share of everyone so far, `rings` every audience an earlier or the current
 * stage named, at the highest share it was given. So a user with the canary at step k
 * keeps it at step k+1 (the request path only ever adds rings and raises shares).
 */
export interface Exposure {
  everyone: number;
  /** In plan order (a request is attributed to the first ring it is in); rings at or below `everyone` are kept for evidence. */
  rings: readonly Ring[];
}

const plans = new WeakMap<RouteConfig, readonly Stage[]>();
const exposures = new WeakMap<readonly Stage[], readonly Exposure[]>();

/** The route's plan, memoised per parsed route (the request path asks on every request). */
export function planOf(route: RouteConfig): readonly Stage[] {
  let plan = plans.get(route);
  if (plan === undefined) plans.set(route, (plan = buildPlan(route)));
  return plan;
}

function buildPlan(route: RouteConfig): Stage[] {
  const steps = route.steps;
  if (steps === undefined) return [{ kind: "live", percent: route.weight }];
  if (steps.stages !== undefined) return steps.stages.map(stageOf);
  return (steps.weights ?? []).map((percent): Stage => ({ kind: "live", percent }));
}

function stageOf(s: StageConfig): Stage {
  if ("shadow" in s) return { kind: "shadow", percent: s.shadow.percent };
  if (s.segments === undefined && s.colos === undefined && s.continents === undefined) return { kind: "live", percent: s.percent };
  return { kind: "live", percent: s.percent, audience: { segments: s.segments ?? [], colos: s.colos ?? [], continents: s.continents ?? [] } };
}

/**
 * The plan's stage at a step index. The config may have fewer stages than a state
 * remembers until the coordinator sees the edit: the last stage, rather than nothing or an
 * out-of-range read.
 */
export function stageAt(plan: readonly Stage[], stepIndex: number): Stage | undefined {
  return plan[clampIndex(plan, stepIndex)];
}

const clampIndex = (plan: readonly Stage[], stepIndex: number): number => Math.min(Math.max(0, Math.trunc(stepIndex)), plan.length - 1);

/** Who gets the canary at a step (clamped like stageAt); memoised per plan. */
export function exposureAt(plan: readonly Stage[], stepIndex: number): Exposure {
  let list = exposures.get(plan);
  if (list === undefined) exposures.set(plan, (list = cumulativeExposures(plan)));
  return list[clampIndex(plan, stepIndex)] ?? NO_EXPOSURE;
}

const NO_EXPOSURE: Exposure = { everyone: 0, rings: [] };

function cumulativeExposures(plan: readonly Stage[]): Exposure[] {
  let everyone = 0;
  const rings: Ring[] = [];
  return plan.map((stage) => {
    if (stage.kind === "live") {
      if (stage.audience === undefined) everyone = Math.max(everyone, stage.percent);
      else {
        const key = audienceLabel(stage.audience);
        const i = rings.findIndex((r) => r.key === key);
        if (i < 0) rings.push({ key, audience: stage.audience, percent: stage.percent });
        else rings[i] = { ...rings[i]!, percent: Math.max(rings[i]!.percent, stage.percent) };
      }
    }
    return { everyone, rings: rings.slice() };
  });
}

/** Canary weight users are served at in a stage: 0 in a shadow stage (of everyone; a ring's own share is in exposureAt). */
export const liveWeight = (stage: Stage | undefined): number => (stage?.kind === "live" && stage.audience === undefined ? stage.percent : 0);

/** Share of users mirrored in a stage: 0 outside a shadow stage. */
export const shadowPercent = (stage: Stage | undefined): number => (stage?.kind === "shadow" ? stage.percent : 0);

/** An audience as people read it: segment names, then colo:XXX and continent:XX, joined by "+". */
export function audienceLabel(a: Audience): string {
  return [...a.segments, ...a.colos.map((c) => `colo:${c}`), ...a.continents.map((c) => `continent:${c}`)].join("+");
}

/** A stage as people read it, and as the state keeps it: "5%", "shadow 10%", "staff+nz 100%". */
export function stageLabel(stage: Stage): string {
  if (stage.kind === "shadow") return `shadow ${stage.percent}%`;
  return stage.audience ? `${audienceLabel(stage.audience)} ${stage.percent}%` : `${stage.percent}%`;
}
