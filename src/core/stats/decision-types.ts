// The decision engine's data: what it reads (DecisionInput, or CountsInput once the
// sketches are counted) and what it answers (Decision with its Explanation). In a file of
// their own so the engine and the modules that word and gate its answers
// (decision-reasons.ts, hold-reasons.ts) all import them without importing each other.
import type { Evidence } from "../evidence.js";
import type { BurnResult } from "./burn-rate.js";
import type { Guardrails } from "./guardrails.js";
import type { TestSummary } from "./msprt.js";
import type { SrmResult } from "./srm.js";

export type { TestStatus, TestSummary } from "./msprt.js";
export interface DecisionInput {
  /** ms epoch */
  now: number;
  /** ms epoch */
  stepStartedAt: number;
  /**
   * Configured canary weight of this step, percent 0..100. At 100 there is no stable arm
   * to compare with: only the burn-rate breaker guards the step, which advances once the
   * minimums are met.
   */
  weight: number;
  minDurationMs: number;
  /** Canary requests the step needs before it may advance. */
  minRequests: number;
  /** Time windows since step start, oldest first. */
  windows: ReadonlyArray<{ start: number; evidence: Evidence }>;
  /**
   * The stable arm's latency quantile frozen at step start. Undefined: the stable arm of
   * the earliest windows holding 20/(1-q) stable samples calibrates it, and those windows
   * are left out of the latency test so the threshold never depends on the data it tests.
   */
  latencyThresholdMs?: number;
  /**
   * The stable arm's error counts per evidence window before the step began (oldest first;
   * the coordinator hands out up to 15 minutes). Only the burst correction reads it: how
   * clumpy the stable errors are is known from the first second of the step instead of
   * being learnt from the step's own windows, during which bursts look like regressions.
   */
  baselineStable?: ReadonlyArray<{ requests: number; errors: number }>;
  guardrails: Guardrails;
}

export type Action = "hold" | "advance" | "rollback";

export interface Decision {
  action: Action;
  reason: string;
  explanation: Explanation;
}

export interface ArmCounts {
  requests: number;
  errors: number;
  /** Requests whose latency was compared with the threshold. */
  timed: number;
  /** Timed requests slower than the threshold. */
  slow: number;
}

export interface WindowCounts {
  start: number;
  stable: ArmCounts;
  canary: ArmCounts;
}

/** Where the latency threshold came from; calibrating/off mean there is none yet. */
export type LatencySource = "frozen" | "derived" | "calibrating" | "off";

export interface CountsInput extends Omit<DecisionInput, "windows" | "latencyThresholdMs"> {
  windows: readonly WindowCounts[];
  latencyThresholdMs: number | null;
  latencySource: LatencySource;
  /** Each arm's latency quantile over the step, for the explanation only. */
  latencyQuantilesMs?: { stable: number | null; canary: number | null };
}

export interface ArmSummary extends ArmCounts {
  errorRate: number;
  slowRate: number;
  latencyQuantileMs: number | null;
}

export interface Explanation {
  elapsedMs: number;
  minDurationMs: number;
  minRequests: number;
  minimumsMet: boolean;
  weight: number;
  windows: number;
  latencyQuantile: number;
  latencyThresholdMs: number | null;
  latencySource: LatencySource;
  stable: ArmSummary;
  canary: ArmSummary;
  errors: TestSummary;
  latency: TestSummary;
  /** Canary error-rate upper bound at likelihood 1/advanceFactor: the absolute route to "bounded". */
  canaryErrorUpperBound: number;
  /**
   * Canary exceedance-rate upper bound over the latency threshold, as sure as a latency
   * rollback needs to be (likelihood alpha): latency's absolute route to "bounded", taken
   * at or below 1 - latencyQuantile, i.e. the canary's quantile is under the threshold.
   * It lets a step advance when both arms run faster than the frozen threshold (the
   * stable origin sped up after the freeze), where exceedances are too rare for the
   * relative test ever to bound the ratio. Stricter than the error route's bound: with a
   * looser one, +10% p99 regressions advanced first more often in the simulator.
   */
  canarySlowUpperBound: number;
  burn: BurnResult & { windowMs: number; subWindowMs: number };
  srm: SrmResult;
  /** Why the step does not advance; empty on advance. */
  blockers: string[];
}
