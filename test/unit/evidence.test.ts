import { describe, expect, it } from "vitest";
import { emptyEvidence, isEmptyEvidence, mergeEvidence, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { quantile } from "../../src/core/stats/ddsketch.js";
import { createRandom, normal } from "../../src/core/stats/prng.js";

function randomEvidence(seed: number, n: number): Evidence {
  const r = createRandom(seed);
  const e = emptyEvidence();
  for (let i = 0; i < n; i++) recordOutcome(e, r() < 0.1 ? "canary" : "stable", r() < 0.02, Math.exp(4 + normal(r)));
  return e;
}

/** Sums are floats, so compare them loosely and everything else exactly. */
function expectSameEvidence(x: Evidence, y: Evidence): void {
  const strip = (e: Evidence): unknown =>
    JSON.parse(JSON.stringify(e), (key, value: unknown) => (key === "sum" ? 0 : value));
  expect(strip(x)).toEqual(strip(y));
  expect(x.stable.latency.sum).toBeCloseTo(y.stable.latency.sum, 6);
  expect(x.canary.latency.sum).toBeCloseTo(y.canary.latency.sum, 6);
}

describe("emptyEvidence", () => {
  it("is empty and JSON-safe", () => {
    const e = emptyEvidence();
    expect(isEmptyEvidence(e)).toBe(true);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });
  it("returns a fresh object each time", () => {
    const a = emptyEvidence();
    recordOutcome(a, "canary", true, 5);
    expect(isEmptyEvidence(emptyEvidence())).toBe(true);
  });
});

describe("recordOutcome", () => {
  it.each([
    ["stable", false, 1, 0, 0, 0],
    ["stable", true, 1, 1, 0, 0],
    ["canary", false, 0, 0, 1, 0],
    ["canary", true, 0, 0, 1, 1],
  ] as const)("records %s, error %s", (variant, isError, sReq, sErr, cReq, cErr) => {
    const e = emptyEvidence();
    recordOutcome(e, variant, isError, 42);
    expect([e.stable.requests, e.stable.errors, e.canary.requests, e.canary.errors]).toEqual([sReq, sErr, cReq, cErr]);
    expect(e[variant].latency.count).toBe(1);
    expect(quantile(e[variant].latency, 0.5) / 42).toBeCloseTo(1, 1);
    expect(isEmptyEvidence(e)).toBe(false);
  });
});

describe("mergeEvidence", () => {
  const [a, b, c] = [randomEvidence(1, 4000), randomEvidence(2, 3000), randomEvidence(3, 500)] as [Evidence, Evidence, Evidence];

  it("is associative", () => expectSameEvidence(mergeEvidence(mergeEvidence(a, b), c), mergeEvidence(a, mergeEvidence(b, c))));
  it("is commutative", () => expectSameEvidence(mergeEvidence(a, b), mergeEvidence(b, a)));
  it("has emptyEvidence as identity", () => {
    expectSameEvidence(mergeEvidence(emptyEvidence(), a), a);
    expectSameEvidence(mergeEvidence(a, emptyEvidence()), a);
  });
  it("adds counts", () => {
    const m = mergeEvidence(a, b);
    expect(m.canary.requests).toBe(a.canary.requests + b.canary.requests);
    expect(m.stable.errors).toBe(a.stable.errors + b.stable.errors);
    expect(m.canary.latency.count).toBe(a.canary.latency.count + b.canary.latency.count);
  });
  it("is pure: inputs are untouched and the result does not alias them", () => {
    const before = JSON.stringify(a);
    const m = mergeEvidence(a, emptyEvidence());
    recordOutcome(m, "canary", true, 1);
    expect(JSON.stringify(a)).toBe(before);
  });
  it("survives a JSON round trip (the Durable Object boundary)", () => {
    const m = mergeEvidence(a, b);
    expectSameEvidence(mergeEvidence(JSON.parse(JSON.stringify(m)) as Evidence, c), mergeEvidence(m, c));
  });
});

describe("isEmptyEvidence", () => {
  it.each([
    ["fresh", emptyEvidence(), true],
    ["one stable request", (() => { const e = emptyEvidence(); recordOutcome(e, "stable", false, 3); return e; })(), false],
    ["one canary request", (() => { const e = emptyEvidence(); recordOutcome(e, "canary", true, 3); return e; })(), false],
  ] as const)("%s -> %s", (_name, e, expected) => {
    expect(isEmptyEvidence(e)).toBe(expected);
  });
});
