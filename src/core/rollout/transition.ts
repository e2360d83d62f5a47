// The rollout state machine: (state, event, now) -> next state or a refusal. Pure: no
// clock, no I/O, no randomness, so the coordinator, the simulator and the tests all run
// the same code. Every change bumps `epoch` by exactly 1; a no-op returns the same state
// object with changed=false. Given up: the machine does not judge *whether* to advance
// or roll back (that is the decision engine's job); it only says whether a move is legal.
// Messages number steps from 1, as people (and the admin API's `step` fields) do;
// `stepIndex` is the 0-based index into steps.weights.
import type { RouteConfig } from "../config/schema.js";
import { err, ok, type Result } from "../result.js";
import type { ConfigEvent, RolloutEvent } from "./events.js";
import { exposureAt, planOf, stageLabel } from "./plan.js";
import { stageLabels, type Actor, type Phase, type RolloutState } from "./state.js";

export interface TransitionError {
  code: "invalid_transition" | "bad_step";
  message: string;
}

export interface Transition {
  state: RolloutState;
  /** False for a no-op: `state` is the input object and the epoch is unchanged. */
  changed: boolean;
  /** Phase before the event; undefined when there was no state yet. */
  from: Phase | undefined;
}

export type TransitionResult = Result<Transition, TransitionError>;

/** Why an event cannot apply in a phase, phrased to be read after "cannot <event> release r2: ". */
const PHASE_WHY: Record<Phase, string> = {
  idle: "nothing is rolling out (manual weight is 0; set a weight or steps in the config)",
  progressing: "it is already progressing",
  paused: "it is paused (resume it first)",
  promoted: "it is already promoted (push a new release id to start another rollout)",
  rolled_back: "it was rolled back (resume it or push a new release id)",
};

export function transition(state: RolloutState | undefined, event: RolloutEvent, now: number): TransitionResult {
  if (event.type === "config") return applyConfig(state, event, now);
  if (state === undefined) {
    return err({
      code: "invalid_transition",
      message: `cannot ${event.type}: there is no rollout for this route yet (the coordinator has not received its config)`,
    });
  }
  // A retried alarm or a decision made on a stale view: the world moved on, drop it.
  const engine = event.type === "advance" || ((event.type === "rollback" || event.type === "pause") && event.actor === "engine");
  if (engine && "expectedEpoch" in event && event.expectedEpoch !== undefined && event.expectedEpoch !== state.epoch) {
    return unchanged(state);
  }

  switch (event.type) {
    case "advance": {
      if (state.mode === "manual") {
        return refuse(state, "advance", "the route is in manual mode (only steps rollouts advance; change the weight in the config)");
      }
      if (state.phase !== "progressing") return refuse(state, "advance", PHASE_WHY[state.phase]);
      const next = state.stepIndex + 1;
      if (next >= state.weights.length) {
        return change(state, { phase: "promoted" }, now, "engine", event.type, event.reason);
      }
      return change(state, { stepIndex: next, stepStartedAt: now }, now, "engine", event.type, event.reason);
    }
    case "rollback": {
      if (state.phase === "rolled_back") return unchanged(state);
      // stepIndex and stepStartedAt are kept: they record where the release failed.
      return change(state, { phase: "rolled_back" }, now, event.actor, event.type, event.reason);
    }
    case "pause": {
      if (state.phase === "paused") return unchanged(state);
      if (state.phase !== "progressing") return refuse(state, "pause", PHASE_WHY[state.phase]);
      return change(state, { phase: "paused" }, now, event.actor ?? "operator", event.type, event.reason);
    }
    case "resume": {
      if (state.phase === "progressing") return unchanged(state);
      if (state.phase === "paused") {
        // The step's minimum duration restarts: evidence from before the pause is not
        // enough on its own to advance straight away.
        const phase = activePhase(state.mode, state.weights);
        return change(state, { phase, stepStartedAt: now }, now, "operator", event.type, withNote(event.reason, FRESH_EVIDENCE));
      }
      if (state.phase === "rolled_back") {
        // A deliberate revival starts again from the smallest exposure.
        const phase = activePhase(state.mode, state.weights);
        return change(state, { phase, stepIndex: 0, stepStartedAt: now }, now, "operator", event.type, withNote(event.reason, FRESH_EVIDENCE));
      }
      return refuse(state, "resume", state.phase === "idle" ? "nothing to resume (manual weight is 0)" : PHASE_WHY[state.phase]);
    }
    case "promote": {
      if (state.phase === "promoted") return unchanged(state);
      if (state.phase !== "progressing" && state.phase !== "paused") return refuse(state, "promote", PHASE_WHY[state.phase]);
      return change(state, { phase: "promoted" }, now, "operator", event.type, event.reason);
    }
    case "set_step": {
      const i = event.stepIndex;
      if (state.mode === "manual") {
        return badStep(`cannot set step ${i + 1} on release ${state.release}: the route is in manual mode (it has no steps)`);
      }
      if (!Number.isInteger(i) || i < 0 || i >= state.weights.length) {
        const n = state.weights.length;
        return badStep(`step ${i + 1} is out of range: release ${state.release} has ${n} step(s), 1..${n}`);
      }
      if (state.phase !== "progressing" && state.phase !== "paused") return refuse(state, "set_step on", PHASE_WHY[state.phase]);
      if (state.phase === "progressing" && state.stepIndex === i) return unchanged(state);
      return change(state, { phase: "progressing", stepIndex: i, stepStartedAt: now }, now, "operator", event.type, withNote(event.reason, FRESH_EVIDENCE));
    }
  }
}

function applyConfig(state: RolloutState | undefined, event: ConfigEvent, now: number): TransitionResult {
  const { route, configHash } = event;
  const mode = modeOf(route);
  const plan = planOf(route);
  const weights = plan.map((_, i) => exposureAt(plan, i).everyone);
  const stages = plan.map(stageLabel);
  if (state !== undefined && state.routeId !== route.id) {
    return err({
      code: "invalid_transition",
      message: `cannot apply config of route ${route.id} to the rollout of route ${state.routeId}`,
    });
  }

  if (state === undefined || state.release !== route.release) {
    const first = mode === "steps" ? `steps mode, step 1 of ${stages.length} at ${stages[0]}` : `manual weight ${weights[0]}%`;
    const was = state === undefined ? "" : ` (was ${state.release})`;
    const next: RolloutState = {
      routeId: route.id,
      release: route.release,
      mode,
      phase: activePhase(mode, weights),
      stepIndex: 0,
      stepStartedAt: now,
      evidenceSince: now,
      rolloutEvidenceSince: now,
      evidenceEpoch: (state?.epoch ?? 0) + 1,
      epoch: (state?.epoch ?? 0) + 1,
      configHash,
      weights,
      stages,
      lastChange: { at: now, actor: "config", event: "config", reason: withNote(`new release ${route.release}${was}: ${first}`, event.note) },
    };
    return ok({ state: next, changed: true, from: state?.phase });
  }

  if (state.configHash === configHash) return unchanged(state);

  const stepIndex = mode === "steps" && state.mode === "steps" ? Math.min(state.stepIndex, weights.length - 1) : 0;
  const stagesBefore = stageLabels(state);
  const servedBefore = state.weights[state.stepIndex];
  const servedAfter = weights[stepIndex];
  // What the step serves changed: its live weight, or its kind or shadow share.
  const restart = mode !== state.mode || stagesBefore[state.stepIndex] !== stages[stepIndex];

  const what: string[] = [];
  if (mode !== state.mode) what.push(`mode ${state.mode} -> ${mode}`);
  if (mode === "manual" && state.mode === "manual" && servedBefore !== servedAfter) {
    what.push(`weight ${servedBefore} -> ${servedAfter}`);
  }
  if (mode === "steps" && state.mode === "steps" && !sameLabels(stagesBefore, stages)) {
    what.push(`steps [${stagesBefore.join(", ")}] -> [${stages.join(", ")}]`);
    if (stepIndex !== state.stepIndex) what.push(`step ${state.stepIndex + 1} -> ${stepIndex + 1} (steps shortened)`);
  }
  if (what.length === 0) what.push("config changed (no weight change)");

  // Terminal and paused phases survive a same-release edit: only a new release id or an
  // operator leaves them. Otherwise the manual weight decides idle vs progressing.
  const keeps = state.phase === "rolled_back" || state.phase === "promoted" || state.phase === "paused";
  const phase = keeps ? state.phase : activePhase(mode, weights);
  if (keeps) what.push(`stays ${state.phase}`);

  const patch: Partial<RolloutState> = { mode, weights, stages, stepIndex, configHash, phase };
  if (restart) {
    patch.stepStartedAt = now;
    what.push(FRESH_EVIDENCE);
  }
  return change(state, patch, now, "config", "config", withNote(what.join("; "), event.note));
}

/** Said in the audit reason of every operator or config change that restarts the evidence. */
const FRESH_EVIDENCE = "fresh evidence window from now (earlier counts no longer judge this step)";

const withNote = (reason: string, note: string | undefined): string => (note ? `${reason}; ${note}` : reason);

function modeOf(route: RouteConfig): RolloutState["mode"] {
  return route.steps === undefined ? "manual" : "steps";
}

/** The phase a running rollout is in: manual at weight 0 is idle, anything else progresses. */
function activePhase(mode: RolloutState["mode"], weights: readonly number[]): Phase {
  return mode === "manual" && (weights[0] ?? 0) <= 0 ? "idle" : "progressing";
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

function unchanged(state: RolloutState): TransitionResult {
  return ok({ state, changed: false, from: state.phase });
}

function change(
  state: RolloutState,
  patch: Partial<RolloutState>,
  now: number,
  actor: Actor,
  event: string,
  reason: string,
): TransitionResult {
  const next: RolloutState = {
    ...state,
    ...patch,
    // A restarted step clock starts a fresh evidence window (state.ts, evidenceSince); one
    // restarted by anyone but the engine's own advance restarts the rollout's evidence too.
    ...(patch.stepStartedAt !== undefined ? { evidenceSince: patch.stepStartedAt, evidenceEpoch: state.epoch + 1 } : {}),
    ...(patch.stepStartedAt !== undefined && actor !== "engine" ? { rolloutEvidenceSince: patch.stepStartedAt } : {}),
    epoch: state.epoch + 1,
    lastChange: { at: now, actor, event, reason },
  };
  return ok({ state: next, changed: true, from: state.phase });
}

function refuse(state: RolloutState, verb: string, why: string): TransitionResult {
  return err({ code: "invalid_transition", message: `cannot ${verb} release ${state.release}: ${why}` });
}

function badStep(message: string): TransitionResult {
  return err({ code: "bad_step", message });
}
