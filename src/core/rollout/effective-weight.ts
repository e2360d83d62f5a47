// The one place config (what the operator wants) and coordinator state (what is true
// now) meet to give the canary weight the edge serves. Every doubt resolves to stable:
// a release the coordinator has not seen, a rollback, or an idle route serve 0%.
// Given up: a brand-new release serves nothing until the first sync confirms it
// (seconds), in exchange for never exposing a release the coordinator cannot stop.
import type { RouteConfig } from "../config/schema.js";
import { exposureAt, planOf, shadowPercent, stageAt, stageLabel, type Ring } from "./plan.js";
import { stageLabels, type RolloutState } from "./state.js";

/**
 * Canary weight of everyone in percent, 0..100 (a ring stage's audiences get more:
 * effectiveRings). The mode and weights come from `route`, the phase and step from `state`.
 */
export function effectiveWeight(route: RouteConfig, state: RolloutState | undefined): number {
  if (state === undefined || state.release !== route.release) return 0;
  switch (state.phase) {
    case "rolled_back":
    case "idle":
      return 0;
    case "promoted":
      return 100;
    case "progressing":
    case "paused":
      return clampPercent(exposureAt(planOf(route), state.stepIndex).everyone);
  }
}

const NO_RINGS: readonly Ring[] = [];

/**
 * The audiences of the plan so far and the share of each the canary serves, while a
 * rollout is progressing or paused; none otherwise, so a rollback takes every ring back
 * at once (and a promotion serves everyone anyway).
 */
export function effectiveRings(route: RouteConfig, state: RolloutState | undefined): readonly Ring[] {
  if (state === undefined || state.release !== route.release) return NO_RINGS;
  if (state.phase !== "progressing" && state.phase !== "paused") return NO_RINGS;
  return exposureAt(planOf(route), state.stepIndex).rings;
}

/**
 * What rings an isolate serves: effectiveRings, unless its config (hash `routeHash`) is
 * not the coordinator's and the two plans differ up to the current step (by stage
 * label). Then none: an isolate never exposes an audience the coordinator's plan has not
 * reached.
 */
export function confirmedRings(route: RouteConfig, routeHash: string, state: RolloutState | undefined): readonly Ring[] {
  const rings = effectiveRings(route, state);
  if (rings.length === 0 || state === undefined || state.configHash === routeHash) return rings;
  const theirs = stageLabels(state);
  const ours = planOf(route);
  for (let i = 0; i <= state.stepIndex; i++) {
    const stage = ours[i];
    if (stage === undefined || theirs[i] !== stageLabel(stage)) return NO_RINGS;
  }
  return rings;
}

/**
 * Share of users whose requests are mirrored to the canary, percent: the current stage's
 * while a rollout is progressing or paused in a shadow stage, otherwise 0. Mirroring
 * never changes what a user is served, so it needs no cap by the coordinator's view
 * beyond the state being trusted (the caller's check, as for the weight).
 */
export function effectiveShadow(route: RouteConfig, state: RolloutState | undefined): number {
  if (state === undefined || state.release !== route.release) return 0;
  if (state.phase !== "progressing" && state.phase !== "paused") return 0;
  return clampPercent(shadowPercent(stageAt(planOf(route), state.stepIndex)));
}

/**
 * What an isolate serves: the effective weight, capped, while its config (hash
 * `routeHash`) is not the one the coordinator's state was made on, by the weight the
 * coordinator's own config gives (`state.weights`), so an isolate never serves more
 * canary than the coordinator's view allows.
 */
export function confirmedWeight(route: RouteConfig, routeHash: string, state: RolloutState | undefined): number {
  const w = effectiveWeight(route, state);
  if (state === undefined || state.configHash === routeHash) return w;
  if (state.phase !== "progressing" && state.phase !== "paused") return w;
  const i = Math.min(Math.max(0, Math.trunc(state.stepIndex)), state.weights.length - 1);
  return Math.min(w, clampPercent(state.weights[i] ?? 0));
}

function clampPercent(w: number): number {
  return Number.isFinite(w) ? Math.min(100, Math.max(0, w)) : 0;
}
