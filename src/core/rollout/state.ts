// The coordinator's record of one route's rollout: what is true now, as opposed to the
// KV config, which is what the operator wants. Plain serialisable data so it can live
// in Durable Object storage and travel in the sync reply. `epoch` is the one number an
// isolate compares to know something changed; we give up a richer history here (the
// audit log keeps that) for a state that fits in one small value.

export type Phase = "idle" | "progressing" | "paused" | "promoted" | "rolled_back";

/** Who caused a change: the decision engine, a human, or a KV config update. */
export type Actor = "engine" | "operator" | "config";

export interface RolloutState {
  routeId: string;
  release: string;
  mode: "manual" | "steps";
  phase: Phase;
  /** Index into the plan's stages (plan.ts); always 0 in manual mode. */
  stepIndex: number;
  /** ms epoch when the current step (or manual weight) began. */
  stepStartedAt: number;
  /**
   * Start of the evidence the engine (and its sample-ratio check) counts, ms epoch: set
   * with every change that restarts the step clock (a new release, advance, resume,
   * set_step, a weight change), so evidence gathered under another weight or before a
   * rollback never judges what is served now. Absent in states stored before it: 0.
   */
  evidenceSince?: number;
  /**
   * Start of the evidence the per-rollout test counts, ms epoch: like evidenceSince, but an
   * engine advance keeps it (the test carries its evidence across steps); a new release,
   * a resume, set_step or a weight change restart it. Absent in older states: 0.
   */
  rolloutEvidenceSince?: number;
  /** The epoch that set evidenceSince: deltas an isolate served under an older epoch are kept out of it. */
  evidenceEpoch?: number;
  /** Bumped by exactly 1 on every change, monotonic across releases. */
  epoch: number;
  /** Hash of the route config in force, computed by the caller. */
  configHash: string;
  /**
   * The canary weight of everyone at each stage of the config in force: `[weight]` in
   * manual mode, one per stage of the plan in steps mode (plan.ts exposureAt: 0 for a
   * shadow stage, the share so far for a ring stage). Kept so an isolate can cap what it
   * serves by the coordinator's view (confirmedWeight).
   */
  weights: readonly number[];
  /**
   * Each stage as a label (plan.ts stageLabel: "5%", "shadow 10%", "staff 100%"), so a config event can
   * tell a change of what the step serves (restart the step clock) from an unrelated edit
   * and say "steps [shadow 10%, 5%] -> [5%]". Absent in states stored before stage kinds:
   * the weights as live stages (stageLabels).
   */
  stages?: readonly string[];
  lastChange: { at: number; actor: Actor; event: string; reason: string };
}

/** The state's stages as labels (plan.ts), for states stored before stage kinds too. */
export const stageLabels = (state: RolloutState): readonly string[] => state.stages ?? state.weights.map((w) => `${w}%`);
