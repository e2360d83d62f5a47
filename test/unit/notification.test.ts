// The webhook's Slack-compatible text: what the decision was, at what exposure, by whom.
import { describe, expect, it } from "vitest";
import { webhookMessage, type DecisionRecord } from "../../src/core/notification.js";

const record = (over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  route: "shop",
  release: "v2",
  event: "advance",
  actor: "engine",
  fromPhase: "progressing",
  toPhase: "progressing",
  epoch: 4,
  step: 2,
  weight: 5,
  reason: "advance: from 1% to 5%",
  at: 0,
  ...over,
});

describe("webhookMessage", () => {
  it("says the canary weight of a live stage", () => {
    expect(webhookMessage(record({ stage: "5%" })).text).toBe(":arrow_forward: edge-canary shop v2: advance, canary at 5% by engine: advance: from 1% to 5%");
  });

  it("says a shadow stage serves users stable, with the stage in the structured record", () => {
    const m = webhookMessage(record({ event: "rollback", toPhase: "rolled_back", step: 1, weight: 0, stage: "shadow 10%", reason: "rollback: shadow 10%: mismatch rate 10%" }));
    expect(m.text).toBe(":rotating_light: edge-canary shop v2: rollback (progressing -> rolled_back), shadow 10% (users on stable) by engine: rollback: shadow 10%: mismatch rate 10%");
    expect(m.edge_canary).toMatchObject({ version: 1, stage: "shadow 10%", step: 1 });
  });

  it("reads a record without a stage (made before stage kinds) by its weight", () => {
    expect(webhookMessage(record({ weight: 0, toPhase: "rolled_back", event: "rollback" })).text).toContain("canary at 0% by engine");
  });
});
