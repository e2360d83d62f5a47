import { describe, expect, it } from "vitest";
import { z } from "zod";
import { GuardrailsSchema, isErrorOutcome, type Guardrails, type OriginResult } from "../../src/core/stats/guardrails.js";

const defaults: Guardrails = {
  alpha: 0.01,
  errorAlphaShare: 0.8,
  errorRatioTolerance: 1,
  latencyQuantile: 0.99,
  latencyRatioTolerance: 1.1,
  advanceFactor: 10,
  minDispersion: 1,
  errorOn5xx: true,
  errorStatuses: [],
  errorOnFailure: true,
  sloErrorRate: 0.001,
  burnRateThreshold: 14.4,
  burnMinRequests: 50,
  srmAlpha: 0.001,
  srmTolerance: 0.1,
  medianQuantile: 0.5,
  medianRatioTolerance: 1.05,
  promotionOdds: 100,
  promotionRatios: [1.5, 2, 3, 5],
  stepTargetSec: 300,
  restartSec: 120,
  minFailedUsers: 5,
  allBaselineTolerance: 1,
  onFail: "rollback",
  lowTraffic: { mode: "hold", afterSec: 600, maxErrorRate: 0.02 },
};

describe("GuardrailsSchema", () => {
  it.each([
    ["undefined", undefined],
    ["{}", {}],
  ])("fills every default from %s", (_name, input) => {
    expect(GuardrailsSchema.parse(input)).toEqual(defaults);
  });

  it("keeps given fields and defaults the rest", () => {
    expect(GuardrailsSchema.parse({ latencyQuantile: 0.95, errorStatuses: [429] })).toEqual({
      ...defaults,
      latencyQuantile: 0.95,
      errorStatuses: [429],
    });
  });

  it("does not share the default array between parses", () => {
    const a = GuardrailsSchema.parse(undefined);
    a.errorStatuses.push(429);
    expect(GuardrailsSchema.parse(undefined).errorStatuses).toEqual([]);
  });

  it.each([
    ["alpha", { alpha: 0 }],
    ["alpha", { alpha: 0.5 }],
    ["errorAlphaShare", { errorAlphaShare: 1 }],
    ["errorRatioTolerance", { errorRatioTolerance: 0.9 }],
    ["latencyQuantile", { latencyQuantile: 1 }],
    ["advanceFactor", { advanceFactor: 0.5 }],
    ["minDispersion", { minDispersion: 0 }],
    ["errorStatuses", { errorStatuses: [700] }],
    ["sloErrorRate", { sloErrorRate: 0 }],
    ["burnMinRequests", { burnMinRequests: 2.5 }],
    ["srmTolerance", { srmTolerance: -0.1 }],
    ["typo", { alhpa: 0.01 }],
  ])("rejects a bad %s, naming the field", (field, input) => {
    const result = GuardrailsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(field === "typo" ? "alhpa" : field);
  });

  it("documents every field with its default", () => {
    const schema = z.toJSONSchema(GuardrailsSchema) as { properties: Record<string, { description?: string; default?: unknown }> };
    for (const [name, property] of Object.entries(schema.properties)) {
      expect(property.description, name).toMatch(/Default .+\.$/);
      expect(property.default, name).toEqual(defaults[name as keyof Guardrails]);
    }
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(defaults).sort());
  });
});

describe("isErrorOutcome", () => {
  const g = GuardrailsSchema.parse(undefined);
  it.each<[string, Partial<Guardrails>, OriginResult, boolean]>([
    ["200 by default", {}, 200, false],
    ["404 by default", {}, 404, false],
    ["429 by default", {}, 429, false],
    ["500 by default", {}, 500, true],
    ["503 by default", {}, 503, true],
    ["a network error by default", {}, "network", true],
    ["a timeout by default", {}, "timeout", true],
    ["429 when listed", { errorStatuses: [429] }, 429, true],
    ["501 without 5xx", { errorOn5xx: false, errorStatuses: [502, 503] }, 501, false],
    ["503 without 5xx but listed", { errorOn5xx: false, errorStatuses: [502, 503] }, 503, true],
    ["a timeout when failures are off", { errorOnFailure: false }, "timeout", false],
  ])("%s", (_name, overrides, outcome, expected) => {
    expect(isErrorOutcome({ ...g, ...overrides }, outcome)).toBe(expected);
  });
});
