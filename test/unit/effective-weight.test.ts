// Table-driven tests of effectiveWeight: config + coordinator state -> served canary %.
import { describe, expect, it } from "vitest";
import { routeConfig } from "../support/route-fixture.js";
import { confirmedWeight, effectiveShadow, effectiveWeight } from "../../src/core/rollout/effective-weight.js";
import type { Phase, RolloutState } from "../../src/core/rollout/state.js";

const route = routeConfig;

function state(phase: Phase, stepIndex = 0, release = "r1"): RolloutState {
  return {
    routeId: "shop",
    release,
    mode: "steps",
    phase,
    stepIndex,
    stepStartedAt: 0,
    epoch: 3,
    configHash: "h",
    weights: [1, 5, 25],
    lastChange: { at: 0, actor: "engine", event: "advance", reason: "test" },
  };
}

const manual = route({ weight: 12.5 });
const steps = route({ weight: 80, steps: { weights: [1, 5, 25] } });

describe("effectiveWeight", () => {
  it.each([
    { name: "no state yet", route: manual, state: undefined, want: 0 },
    { name: "state of another release", route: manual, state: state("progressing", 0, "r0"), want: 0 },
    { name: "rolled-back old release, new release not yet seen", route: steps, state: state("rolled_back", 2, "r0"), want: 0 },
    { name: "manual progressing", route: manual, state: state("progressing"), want: 12.5 },
    { name: "manual paused", route: manual, state: state("paused"), want: 12.5 },
    { name: "manual idle", route: manual, state: state("idle"), want: 0 },
    { name: "manual rolled_back", route: manual, state: state("rolled_back"), want: 0 },
    { name: "manual promoted", route: manual, state: state("promoted"), want: 100 },
    { name: "steps progressing step 0", route: steps, state: state("progressing", 0), want: 1 },
    { name: "steps progressing step 2", route: steps, state: state("progressing", 2), want: 25 },
    { name: "steps paused step 1", route: steps, state: state("paused", 1), want: 5 },
    { name: "steps idle", route: steps, state: state("idle"), want: 0 },
    { name: "steps rolled_back", route: steps, state: state("rolled_back", 2), want: 0 },
    { name: "steps promoted", route: steps, state: state("promoted", 1), want: 100 },
    { name: "steps index past the end clamps to the last step", route: steps, state: state("progressing", 9), want: 25 },
    { name: "steps negative index clamps to step 0", route: steps, state: state("progressing", -1), want: 1 },
    { name: "manual weight 0 progressing", route: route({ weight: 0 }), state: state("progressing"), want: 0 },
  ])("$name -> $want", ({ route, state, want }) => {
    expect(effectiveWeight(route, state)).toBe(want);
  });
});

describe("confirmedWeight", () => {
  const withWeights = (s: RolloutState, weights: number[], configHash: string): RolloutState => ({ ...s, weights, configHash });
  it.each([
    { name: "same config: the effective weight", state: withWeights(state("progressing"), [12.5], "h"), hash: "h", want: 12.5 },
    { name: "edge 50, coordinator idle at 0", route: route({ weight: 50 }), state: withWeights(state("idle"), [0], "c"), hash: "e", want: 0 },
    { name: "edge 50, coordinator 10: capped", route: route({ weight: 50 }), state: withWeights(state("progressing"), [10], "c"), hash: "e", want: 10 },
    { name: "edge 5, coordinator 10: the edge's own", route: route({ weight: 5 }), state: withWeights(state("progressing"), [10], "c"), hash: "e", want: 5 },
    { name: "edge steps, coordinator manual 2", route: steps, state: withWeights(state("progressing", 2), [2], "c"), hash: "e", want: 2 },
    { name: "no state", state: undefined, hash: "e", want: 0 },
  ])("$name -> $want", ({ route: r = manual, state, hash, want }) => {
    expect(confirmedWeight(r, hash, state)).toBe(want);
  });
});

describe("effectiveShadow and a plan's shadow stage", () => {
  const plan = route({ steps: { stages: [{ shadow: { percent: 10 } }, { percent: 5 }] } });
  const at = (phase: Phase, stepIndex: number, release = "r1"): RolloutState => ({ ...state(phase, stepIndex, release), weights: [0, 5], stages: ["shadow 10%", "5%"] });
  it.each([
    { name: "shadow stage progressing", state: at("progressing", 0), weight: 0, shadow: 10 },
    { name: "shadow stage paused (mirroring goes on, nobody is served canary)", state: at("paused", 0), weight: 0, shadow: 10 },
    { name: "live stage after it", state: at("progressing", 1), weight: 5, shadow: 0 },
    { name: "rolled back in the shadow stage", state: at("rolled_back", 0), weight: 0, shadow: 0 },
    { name: "promoted", state: at("promoted", 1), weight: 100, shadow: 0 },
    { name: "another release", state: at("progressing", 0, "r0"), weight: 0, shadow: 0 },
    { name: "no state", state: undefined, weight: 0, shadow: 0 },
  ])("$name -> weight $weight, shadow $shadow", ({ state: s, weight, shadow }) => {
    expect(effectiveWeight(plan, s)).toBe(weight);
    expect(effectiveShadow(plan, s)).toBe(shadow);
  });
});
