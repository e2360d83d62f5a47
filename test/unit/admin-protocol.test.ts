// The admin protocol's constants agree with the code they describe: COMMAND_PHASES
// (the dashboard's enabled buttons) with the rollout state machine, in both modes.
import { describe, expect, it } from "vitest";
import { COMMAND_PHASES } from "../../src/core/admin-protocol.js";
import type { RolloutEvent } from "../../src/core/rollout/events.js";
import type { Phase, RolloutState } from "../../src/core/rollout/state.js";
import { transition } from "../../src/core/rollout/transition.js";

const PHASES: Phase[] = ["idle", "progressing", "paused", "promoted", "rolled_back"];

function stateIn(phase: Phase, mode: RolloutState["mode"]): RolloutState {
  return {
    routeId: "shop",
    release: "r1",
    mode,
    phase,
    stepIndex: 0,
    stepStartedAt: 0,
    epoch: 3,
    configHash: "h",
    weights: mode === "steps" ? [5, 50] : [phase === "idle" ? 0 : 10],
    lastChange: { at: 0, actor: "config", event: "config", reason: "test" },
  };
}

describe("COMMAND_PHASES", () => {
  for (const mode of ["manual", "steps"] as const) {
    it(`lists exactly the phases where the command changes a ${mode} rollout`, () => {
      for (const [command, phases] of Object.entries(COMMAND_PHASES)) {
        const changes = PHASES.filter((phase) => {
          const event: RolloutEvent =
            command === "rollback" ? { type: "rollback", actor: "operator", reason: "r" } : { type: command as "pause" | "resume" | "promote", reason: "r" };
          const result = transition(stateIn(phase, mode), event, 1);
          return result.ok && result.value.changed;
        });
        expect(changes, command).toEqual([...phases]);
      }
    });
  }
});
