import { describe, expect, it } from "vitest";
import { emptyEvidence, MAX_METRIC_USERS, type Evidence } from "../../src/core/evidence.js";
import { checkDelta } from "../../src/core/sync-protocol.js";

const withMetrics = (metrics: unknown): Evidence => ({ ...emptyEvidence(), metrics: metrics as Evidence["metrics"] });
const users = (n: number): Record<string, Record<string, [number, number]>> => Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), { checkout: [1, 1] }]));

describe("checkDelta: metric evidence", () => {
  it("accepts per-user events as isolates record them", () => {
    expect(checkDelta(withMetrics({ stable: { "0": {}, "4294967295": { quality: [2, 1.64] } }, canary: { "17": { checkout: [1, 1] } } }))).toBeUndefined();
    expect(checkDelta(withMetrics({ stable: users(MAX_METRIC_USERS), canary: {}, overflow: 12 }))).toBeUndefined();
    expect(checkDelta(withMetrics({ stable: {}, canary: { "3": { quality: [1, -0.5] } } }))).toBeUndefined();
  });

  it.each([
    ["not an object", 5],
    ["an array", []],
    ["no arms", {}],
    ["an arm that is an array", { stable: [], canary: {} }],
    ["too many users", { stable: users(MAX_METRIC_USERS + 1), canary: {} }],
    ["a user key that is not a hash", { stable: { abc: {} }, canary: {} }],
    ["a user key past 32 bits", { stable: { "4294967296": {} }, canary: {} }],
    ["a user key with a leading zero", { stable: { "01": {} }, canary: {} }],
    ["a prototype user key", JSON.parse('{"stable":{"__proto__":{}},"canary":{}}')],
    ["a user that is not a record", { stable: { "1": 3 }, canary: {} }],
    ["a metric name that is not one", { stable: { "1": { "Check-out": [1, 1] } }, canary: {} }],
    ["a prototype metric name", JSON.parse('{"stable":{"1":{"__proto__":[1,1]}},"canary":{}}')],
    ["a negative count", { stable: {}, canary: { "1": { checkout: [-1, 1] } } }],
    ["a non-finite sum", { stable: {}, canary: { "1": { checkout: [1, null] } } }],
    ["a three-element value", { stable: {}, canary: { "1": { checkout: [1, 1, 1] } } }],
    ["a string count", { stable: {}, canary: { "1": { checkout: ["1", 1] } } }],
    ["a negative overflow", { stable: {}, canary: {}, overflow: -1 }],
    ["too many metrics for a user", { stable: { "1": Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`m${i}`, [1, 1]])) }, canary: {} }],
  ])("refuses %s", (_, metrics) => {
    expect(checkDelta(withMetrics(metrics))).toMatch(/metrics/);
  });

  it("refuses a sum that JSON turned into null (NaN or Infinity on the isolate)", () => {
    const sent = JSON.parse(JSON.stringify(withMetrics({ stable: {}, canary: { "1": { quality: [1, Number.NaN] } } })));
    expect(checkDelta(sent)).toMatch(/is not \[count, sum\]/);
  });
});
