// Everything that can move a rollout: the KV config (actor "config"), the decision
// engine, and the operator. Engine events may carry the epoch they were decided on so
// a retried Durable Object alarm is a no-op instead of a second step; operator events
// do not (a human re-clicking "pause" is already idempotent by phase).
import type { RouteConfig } from "../config/schema.js";

/** The parsed route from KV and the caller's hash of it. */
export interface ConfigEvent {
  type: "config";
  route: RouteConfig;
  configHash: string;
  /** Appended to the audit reason (where the config came from when not from KV). */
  note?: string;
}

/** Engine-only guard: when set and not equal to the state's epoch, the event is a no-op. */
interface EpochGuard {
  expectedEpoch?: number;
}

/** Engine moves a steps rollout to its next step, or promotes after the last one. */
export interface AdvanceEvent extends EpochGuard {
  type: "advance";
  reason: string;
}

export type RollbackEvent =
  | ({ type: "rollback"; actor: "engine"; reason: string } & EpochGuard)
  | { type: "rollback"; actor: "operator"; reason: string };

/** An operator's pause, or the engine's when guardrails.onFail is "pause". */
export interface PauseEvent extends EpochGuard {
  type: "pause";
  reason: string;
  /** Absent: the operator. The epoch guard applies to the engine's pause only. */
  actor?: "operator" | "engine";
}

export interface ResumeEvent {
  type: "resume";
  reason: string;
}

export interface PromoteEvent {
  type: "promote";
  reason: string;
}

/** Operator jumps to `stepIndex` (0-based) of steps.weights. */
export interface SetStepEvent {
  type: "set_step";
  stepIndex: number;
  reason: string;
}

export type RolloutEvent =
  | ConfigEvent
  | AdvanceEvent
  | RollbackEvent
  | PauseEvent
  | ResumeEvent
  | PromoteEvent
  | SetStepEvent;
