// Table-driven tests of the rollout state machine: every (phase, event) pair in both
// modes, the epoch discipline, and the idempotence that retried alarms rely on.
import { describe, expect, it } from "vitest";
import { routeConfig, type RouteInput } from "../support/route-fixture.js";
import type { RolloutEvent } from "../../src/core/rollout/events.js";
import type { Phase, RolloutState } from "../../src/core/rollout/state.js";
import { transition, type Transition } from "../../src/core/rollout/transition.js";

const route = routeConfig;

const config = (overrides: RouteInput = {}): RolloutEvent => {
  const r = route(overrides);
  return { type: "config", route: r, configHash: JSON.stringify(r) };
};

function apply(state: RolloutState | undefined, event: RolloutEvent, now = 1_000): Transition {
  const result = transition(state, event, now);
  if (!result.ok) throw new Error(`${event.type}: ${result.error.message}`);
  return result.value;
}

/** Runs events in order from no state; each must succeed. */
function run(events: RolloutEvent[], now = 1_000): RolloutState {
  let state: RolloutState | undefined;
  for (const e of events) state = apply(state, e, now).state;
  if (state === undefined) throw new Error("no events");
  return state;
}

const STEPS = { weights: [1, 5, 25] };
const advance: RolloutEvent = { type: "advance", reason: "evidence ok" };
const pause: RolloutEvent = { type: "pause", reason: "look at logs" };
const resume: RolloutEvent = { type: "resume", reason: "logs fine" };
const promote: RolloutEvent = { type: "promote", reason: "ship it" };
const engineRollback: RolloutEvent = { type: "rollback", actor: "engine", reason: "error rate" };
const operatorRollback: RolloutEvent = { type: "rollback", actor: "operator", reason: "bad deploy" };

// Starting states, reached through real events. Steps states sit at step 1 of 3.
const stepsStart = [config({ steps: STEPS }), advance];
const manualStart = [config({ weight: 10 })];
const starts: Record<"steps" | "manual", Partial<Record<Phase, RolloutEvent[]>>> = {
  steps: {
    progressing: stepsStart,
    paused: [...stepsStart, pause],
    promoted: [...stepsStart, promote],
    rolled_back: [...stepsStart, engineRollback],
  },
  manual: {
    idle: [config({ weight: 0 })],
    progressing: manualStart,
    paused: [...manualStart, pause],
    promoted: [...manualStart, promote],
    rolled_back: [...manualStart, engineRollback],
  },
};

// Events per mode. "config_same" re-sends the config the state was built from.
const events = {
  steps: {
    config_new: config({ release: "r2", steps: STEPS }),
    config_same: config({ steps: STEPS }),
    config_edit: config({ steps: { weights: [1, 5, 25, 50] } }),
    advance,
    rollback_engine: engineRollback,
    rollback_operator: operatorRollback,
    pause,
    resume,
    promote,
    set_step_0: { type: "set_step", stepIndex: 0, reason: "redo" },
    set_step_9: { type: "set_step", stepIndex: 9, reason: "typo" },
  },
  manual: {
    config_new: config({ release: "r2", weight: 10 }),
    config_same: undefined, // depends on the start (idle is weight 0): filled per row below
    config_edit: config({ weight: 20 }),
    advance,
    rollback_engine: engineRollback,
    rollback_operator: operatorRollback,
    pause,
    resume,
    promote,
    set_step_0: { type: "set_step", stepIndex: 0, reason: "redo" },
    set_step_9: { type: "set_step", stepIndex: 9, reason: "typo" },
  },
} satisfies Record<string, Record<string, RolloutEvent | undefined>>;
type EventName = keyof typeof events.steps;

type Outcome = Phase | "noop" | "invalid_transition" | "bad_step";
const I = "invalid_transition";
const B = "bad_step";

// The transition table. Columns follow `events` order.
// prettier-ignore
const table: Record<"steps" | "manual", Partial<Record<Phase, Record<EventName, Outcome>>>> = {
  steps: {
    //             config_new      config_same  config_edit      advance          rb_engine      rb_operator    pause     resume           promote     set_step_0     set_step_9
    progressing: r("progressing", "noop",      "progressing",   "progressing",   "rolled_back", "rolled_back", "paused", "noop",          "promoted", "progressing", B),
    paused:      r("progressing", "noop",      "paused",        I,               "rolled_back", "rolled_back", "noop",   "progressing",   "promoted", "progressing", B),
    promoted:    r("progressing", "noop",      "promoted",      I,               "rolled_back", "rolled_back", I,        I,               "noop",     I,             B),
    rolled_back: r("progressing", "noop",      "rolled_back",   I,               "noop",        "noop",        I,        "progressing",   I,          I,             B),
  },
  manual: {
    idle:        r("progressing", "noop",      "progressing",   I,               "rolled_back", "rolled_back", I,        I,               I,          B,             B),
    progressing: r("progressing", "noop",      "progressing",   I,               "rolled_back", "rolled_back", "paused", "noop",          "promoted", B,             B),
    paused:      r("progressing", "noop",      "paused",        I,               "rolled_back", "rolled_back", "noop",   "progressing",   "promoted", B,             B),
    promoted:    r("progressing", "noop",      "promoted",      I,               "rolled_back", "rolled_back", I,        I,               "noop",     B,             B),
    rolled_back: r("progressing", "noop",      "rolled_back",   I,               "noop",        "noop",        I,        "progressing",   I,          B,             B),
  },
};

function r(...o: Outcome[]): Record<EventName, Outcome> {
  const names = Object.keys(events.steps) as EventName[];
  return Object.fromEntries(names.map((n, i) => [n, o[i]!])) as Record<EventName, Outcome>;
}

const rows = (["steps", "manual"] as const).flatMap((mode) =>
  Object.entries(table[mode]).flatMap(([phase, outcomes]) =>
    Object.entries(outcomes).map(([name, expected]) => ({ mode, phase: phase as Phase, name: name as EventName, expected })),
  ),
);

describe("transition", () => {
  it.each(rows)("$mode $phase + $name -> $expected", ({ mode, phase, name, expected }) => {
    const startEvents = starts[mode][phase]!;
    const before = run(startEvents);
    expect(before.phase).toBe(phase);
    const event = events[mode][name] ?? startEvents[0]!;
    const result = transition(before, event, 5_000);

    if (expected === "invalid_transition" || expected === "bad_step") {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe(expected);
        expect(result.error.message).toMatch(/\S/);
      }
      return;
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.from).toBe(phase);
    if (expected === "noop") {
      expect(result.value.changed).toBe(false);
      expect(result.value.state).toBe(before);
      return;
    }
    const after = result.value.state;
    expect(result.value.changed).toBe(true);
    expect(after.phase).toBe(expected);
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.lastChange.at).toBe(5_000);
    expect(after.lastChange.event).toBe(event.type);
  });

  it("refuses every non-config event when there is no state yet", () => {
    for (const event of Object.values(events.steps)) {
      if (event.type === "config") continue;
      const result = transition(undefined, event, 1);
      expect(result.ok ? "ok" : result.error.code).toBe("invalid_transition");
    }
  });

  it.each([
    { name: "steps", input: { steps: STEPS }, phase: "progressing" },
    { name: "manual weight 10", input: { weight: 10 }, phase: "progressing" },
    { name: "manual weight 0", input: { weight: 0 }, phase: "idle" },
  ] as const)("first config ($name) starts at epoch 1 in $phase", ({ input, phase }) => {
    const t = apply(undefined, config(input), 42);
    expect(t).toMatchObject({ changed: true, from: undefined });
    expect(t.state).toMatchObject({ phase, epoch: 1, stepIndex: 0, stepStartedAt: 42, release: "r1", routeId: "shop" });
    expect(t.state.lastChange).toMatchObject({ at: 42, actor: "config", event: "config" });
  });

  it("walks the steps one at a time and promotes after the last", () => {
    let s = run([config({ steps: STEPS })], 0);
    const seen: Array<[Phase, number, number, number]> = [];
    for (let now = 1; now <= 3; now++) {
      s = apply(s, advance, now).state;
      seen.push([s.phase, s.stepIndex, s.epoch, s.lastChange.at]);
    }
    expect(seen).toEqual([
      ["progressing", 1, 2, 1],
      ["progressing", 2, 3, 2],
      ["promoted", 2, 4, 3],
    ]);
    expect(s.lastChange).toMatchObject({ actor: "engine", event: "advance", reason: "evidence ok" });
  });

  it("records the actor of each change", () => {
    const s = run([config({ steps: STEPS })]);
    expect(apply(s, engineRollback).state.lastChange.actor).toBe("engine");
    expect(apply(s, operatorRollback).state.lastChange.actor).toBe("operator");
    expect(apply(s, pause).state.lastChange).toMatchObject({ actor: "operator", event: "pause", reason: "look at logs" });
  });

  it("an engine pause (onFail pause) is the engine's, and a stale one is dropped", () => {
    const s = run([config({ steps: STEPS })]);
    const enginePause: RolloutEvent = { type: "pause", actor: "engine", reason: "onFail pause: errors", expectedEpoch: s.epoch };
    expect(apply(s, enginePause).state.lastChange).toMatchObject({ actor: "engine", event: "pause" });
    expect(apply(s, { ...enginePause, expectedEpoch: s.epoch - 1 }).changed).toBe(false);
  });
});

describe("transition: idempotence with expectedEpoch", () => {
  it("a retried advance decided at one epoch moves one step only", () => {
    const s0 = run([config({ steps: STEPS })]);
    const decided: RolloutEvent = { type: "advance", reason: "evidence ok", expectedEpoch: s0.epoch };
    const first = apply(s0, decided, 2_000);
    const retry = apply(first.state, decided, 2_001);
    expect(first.state).toMatchObject({ stepIndex: 1, epoch: s0.epoch + 1 });
    expect(retry.changed).toBe(false);
    expect(retry.state).toBe(first.state);
  });

  it("resume starts a fresh evidence window (evidenceSince, evidenceEpoch); pause and rollback keep it", () => {
    const s0 = run([config({ steps: STEPS })]);
    const paused = apply(s0, pause).state;
    expect(paused).toMatchObject({ evidenceSince: s0.evidenceSince, evidenceEpoch: s0.evidenceEpoch });
    const rolled = apply(paused, operatorRollback).state;
    expect(rolled.evidenceSince).toBe(s0.evidenceSince);
    const resumed = transition(rolled, resume, 123_456);
    if (!resumed.ok) throw new Error(resumed.error.message);
    expect(resumed.value.state).toMatchObject({ evidenceSince: 123_456, evidenceEpoch: resumed.value.state.epoch, stepStartedAt: 123_456 });
    expect(resumed.value.state.lastChange.reason).toMatch(/^logs fine; fresh evidence window/);
  });

  it("an engine advance keeps the rollout's evidence (rolloutEvidenceSince); a resume or set_step restarts it", () => {
    const s0 = run([config({ steps: STEPS })], 1_000);
    expect(s0.rolloutEvidenceSince).toBe(1_000);
    const advanced = apply(s0, advance, 5_000).state;
    expect(advanced).toMatchObject({ stepIndex: 1, evidenceSince: 5_000, rolloutEvidenceSince: 1_000 });
    const moved = apply(advanced, { type: "set_step", stepIndex: 0, reason: "back to 1%" }, 9_000).state;
    expect(moved).toMatchObject({ stepIndex: 0, evidenceSince: 9_000, rolloutEvidenceSince: 9_000 });
    const rolled = apply(moved, engineRollback, 10_000).state;
    const resumed = apply(rolled, resume, 12_000).state;
    expect(resumed).toMatchObject({ evidenceSince: 12_000, rolloutEvidenceSince: 12_000 });
  });

  it("a stale engine rollback does not undo an operator's resume", () => {
    const s0 = run([config({ steps: STEPS })]);
    const decided: RolloutEvent = { type: "rollback", actor: "engine", reason: "errors", expectedEpoch: s0.epoch };
    const rolled = apply(s0, decided).state;
    const resumed = apply(rolled, resume).state;
    const retry = apply(resumed, decided);
    expect(retry.changed).toBe(false);
    expect(retry.state.phase).toBe("progressing");
  });

  it("an engine event at the current epoch applies; without expectedEpoch a repeat rollback is a no-op", () => {
    const s0 = run([config({ steps: STEPS })]);
    const once = apply(s0, { type: "rollback", actor: "engine", reason: "x", expectedEpoch: s0.epoch });
    expect(once.state.phase).toBe("rolled_back");
    const twice = apply(once.state, engineRollback);
    expect(twice).toMatchObject({ changed: false, from: "rolled_back" });
    expect(twice.state.epoch).toBe(once.state.epoch);
  });
});

describe("transition: config events", () => {
  it("a new release restarts from step 0 with the epoch still rising", () => {
    const old = run([...stepsStart, engineRollback], 0);
    const t = apply(old, config({ release: "r2", steps: STEPS }), 9_000);
    expect(t).toMatchObject({ changed: true, from: "rolled_back" });
    expect(t.state).toMatchObject({ release: "r2", phase: "progressing", stepIndex: 0, stepStartedAt: 9_000, epoch: old.epoch + 1 });
    expect(t.state.lastChange.reason).toContain("new release r2 (was r1)");
  });

  it("a new release also leaves promoted, and manual weight 0 starts idle", () => {
    const old = run([...manualStart, promote]);
    expect(apply(old, config({ release: "r2", weight: 0 })).state.phase).toBe("idle");
  });

  it("rolled_back survives any same-release config, and only resume revives it", () => {
    let s = run([...manualStart, operatorRollback]);
    for (const w of [20, 50, 0, 100]) {
      const t = apply(s, config({ weight: w }));
      expect(t.state.phase).toBe("rolled_back");
      expect(t.state.epoch).toBe(s.epoch + 1);
      s = t.state;
    }
    expect(apply(s, config({ steps: STEPS })).state.phase).toBe("rolled_back");
  });

  it("promoted survives a same-release config", () => {
    const s = run([...stepsStart, promote]);
    const t = apply(s, config({ steps: { weights: [2, 10] } }));
    expect(t.state).toMatchObject({ phase: "promoted", stepIndex: 1 });
    expect(t.state.lastChange.reason).toContain("stays promoted");
  });

  it("a manual weight change restarts the clock and says what changed", () => {
    const s = run([config({ weight: 5 })], 0);
    const t = apply(s, config({ weight: 10 }), 7_000);
    expect(t.state).toMatchObject({ phase: "progressing", stepStartedAt: 7_000, epoch: 2 });
    expect(t.state.lastChange).toMatchObject({ actor: "config", event: "config", reason: "weight 5 -> 10; fresh evidence window from now (earlier counts no longer judge this step)" });
    expect(t.state).toMatchObject({ evidenceSince: 7_000, evidenceEpoch: t.state.epoch });
  });

  it("manual weight to 0 goes idle, and back above 0 progresses", () => {
    const idle = apply(run([config({ weight: 5 })]), config({ weight: 0 })).state;
    expect(idle.phase).toBe("idle");
    expect(apply(idle, config({ weight: 1 })).state.phase).toBe("progressing");
  });

  it("an edit that leaves the weights alone bumps the epoch but keeps the step clock", () => {
    const s = run([config({ weight: 5 })], 0);
    const t = apply(s, config({ weight: 5, exposeHeaders: false }), 7_000);
    expect(t.changed).toBe(true);
    expect(t.state).toMatchObject({ epoch: 2, stepStartedAt: 0 });
    expect(t.state.lastChange.reason).toBe("config changed (no weight change)");
  });

  it("shortened steps clamp the step index", () => {
    const s = run([config({ steps: STEPS }), advance, advance], 0); // step 2 of 3
    const t = apply(s, config({ steps: { weights: [1, 5] } }), 8_000);
    expect(t.state).toMatchObject({ stepIndex: 1, stepStartedAt: 8_000, phase: "progressing" });
    expect(t.state.lastChange.reason).toBe("steps [1%, 5%, 25%] -> [1%, 5%]; step 3 -> 2 (steps shortened); fresh evidence window from now (earlier counts no longer judge this step)");
  });

  it("lengthened steps keep the current step and its clock when its weight is unchanged", () => {
    const s = run([config({ steps: STEPS }), advance], 0);
    const t = apply(s, config({ steps: { weights: [1, 5, 25, 50] } }), 8_000);
    expect(t.state).toMatchObject({ stepIndex: 1, stepStartedAt: 0 });
  });

  it("a plan with a shadow stage keeps live weight 0 for it and labels each stage", () => {
    const s = run([config({ steps: { stages: [{ shadow: { percent: 10 } }, { percent: 5 }, { percent: 50 }] } })], 0);
    expect(s).toMatchObject({ mode: "steps", phase: "progressing", stepIndex: 0, weights: [0, 5, 50], stages: ["shadow 10%", "5%", "50%"] });
    expect(s.lastChange.reason).toBe("new release r1: steps mode, step 1 of 3 at shadow 10%");
  });

  it("a change of the shadow share restarts the step clock; weights and stages of the same plan do not", () => {
    const s = run([config({ steps: { stages: [{ shadow: { percent: 10 } }, { percent: 5 }] } })], 0);
    const same = apply(s, config({ steps: { stages: [{ shadow: { percent: 10 } }, { percent: 5 }] }, exposeHeaders: false }), 5_000);
    expect(same.state.stepStartedAt).toBe(0);
    const t = apply(s, config({ steps: { stages: [{ shadow: { percent: 50 } }, { percent: 5 }] } }), 8_000);
    expect(t.state).toMatchObject({ stepIndex: 0, stepStartedAt: 8_000, stages: ["shadow 50%", "5%"] });
    expect(t.state.lastChange.reason).toContain("steps [shadow 10%, 5%] -> [shadow 50%, 5%]");
    // steps.weights is the plan of live stages: the same plan written either way is no change of what is served.
    const w = run([config({ steps: { weights: [1, 5] } })], 0);
    const asStages = apply(w, config({ steps: { stages: [{ percent: 1 }, { percent: 5 }] } }), 9_000);
    expect(asStages.state.stepStartedAt).toBe(0);
  });

  it("a state stored before stage kinds reads its weights as live stages", () => {
    const s = run([config({ steps: STEPS })], 0);
    const old: RolloutState = { ...s, stages: undefined };
    const t = apply(old, config({ steps: { weights: [1, 5, 25, 50] } }), 8_000);
    expect(t.state).toMatchObject({ stepStartedAt: 0, stages: ["1%", "5%", "25%", "50%"] });
  });

  it("switching manual -> steps starts at step 0; steps -> manual resets the index", () => {
    const idle = run([config({ weight: 0 })]);
    const steps = apply(idle, config({ steps: STEPS }), 3_000).state;
    expect(steps).toMatchObject({ mode: "steps", phase: "progressing", stepIndex: 0, stepStartedAt: 3_000 });
    expect(steps.lastChange.reason).toBe("mode manual -> steps; fresh evidence window from now (earlier counts no longer judge this step)");
    const far = apply(steps, advance).state;
    expect(apply(far, config({ weight: 7 })).state).toMatchObject({ mode: "manual", stepIndex: 0, phase: "progressing" });
  });

  it("a paused rollout stays paused through a config edit", () => {
    const s = run([...manualStart, pause]);
    expect(apply(s, config({ weight: 30 })).state.phase).toBe("paused");
  });

  it("refuses a config for another route", () => {
    const s = run(manualStart);
    const result = transition(s, config({ id: "other", weight: 10 }), 1);
    expect(result.ok ? "ok" : result.error.code).toBe("invalid_transition");
  });
});

describe("transition: operator events", () => {
  it("resume from paused restarts the step's clock at the same step", () => {
    const s = run([...stepsStart, pause], 0);
    expect(apply(s, resume, 6_000).state).toMatchObject({ phase: "progressing", stepIndex: 1, stepStartedAt: 6_000 });
  });

  it("resume from rolled_back goes back to step 0", () => {
    const s = run([...stepsStart, engineRollback], 0);
    expect(apply(s, resume, 6_000).state).toMatchObject({ phase: "progressing", stepIndex: 0, stepStartedAt: 6_000 });
  });

  it("resume of a manual rollout whose weight is now 0 lands in idle", () => {
    const s = run([...manualStart, pause, config({ weight: 0 })]);
    expect(apply(s, resume).state.phase).toBe("idle");
  });

  it("explains why a rolled-back release cannot be promoted", () => {
    const s = run([config({ release: "r2", steps: STEPS }), engineRollback]);
    const result = transition(s, promote, 1);
    expect(result).toEqual({
      ok: false,
      error: {
        code: "invalid_transition",
        message: "cannot promote release r2: it was rolled back (resume it or push a new release id)",
      },
    });
  });

  it("set_step jumps to the step and restarts its clock", () => {
    const s = run([config({ steps: STEPS })], 0);
    const t = apply(s, { type: "set_step", stepIndex: 2, reason: "skip" }, 4_000);
    expect(t.state).toMatchObject({ phase: "progressing", stepIndex: 2, stepStartedAt: 4_000, epoch: 2 });
    expect(apply(t.state, { type: "set_step", stepIndex: 2, reason: "again" }).changed).toBe(false);
  });

  it.each([-1, 3, 1.5, Number.NaN])("set_step %s is a bad_step with the valid range", (stepIndex) => {
    const s = run([config({ steps: STEPS })]);
    const result = transition(s, { type: "set_step", stepIndex, reason: "x" }, 1);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe("bad_step");
      expect(result.error.message).toContain("1..3");
    }
  });

  it("advance in manual mode names the mode", () => {
    const result = transition(run(manualStart), advance, 1);
    expect(result.ok ? "" : result.error.message).toContain("manual mode");
  });
});
