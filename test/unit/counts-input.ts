// Decision-engine inputs for unit tests: arm counts and a CountsInput with the defaults
// the engine tests share (5% weight, 60 s and 200 canary requests minimum, a frozen
// 300 ms latency threshold, default guardrails).
import type { ArmCounts, WindowCounts, CountsInput } from "../../src/core/stats/decision-engine.js";
import { GuardrailsSchema } from "../../src/core/stats/guardrails.js";

export const defaultGuardrails = GuardrailsSchema.parse(undefined);

export const arm = (requests: number, errors = 0, slow = 0, timed = requests): ArmCounts => ({ requests, errors, timed, slow });

/** A CountsInput whose clock sits at the end of its last 10 s bucket. */
export function countsInput(windows: WindowCounts[], over: Partial<CountsInput> = {}): CountsInput {
  return {
    now: windows.length * 10_000,
    stepStartedAt: 0,
    weight: 5,
    minDurationMs: 60_000,
    minRequests: 200,
    guardrails: defaultGuardrails,
    windows,
    latencyThresholdMs: 300,
    latencySource: "frozen",
    ...over,
  };
}
