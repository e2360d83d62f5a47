import { describe, expect, it } from "vitest";
import { emptyEvidence, identityHash, isEmptyEvidence, mergeEvidence, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { countUsers } from "../../src/core/stats/distinct-users.js";
import { quantile } from "../../src/core/stats/ddsketch.js";
import { createRandom, normal } from "../../src/core/stats/prng.js";

function randomEvidence(seed: number, n: number): Evidence {
  const r = createRandom(seed);
  const e = emptyEvidence();
  for (let i = 0; i < n; i++) recordOutcome(e, r() < 0.1 ? "canary" : "stable", r() < 0.02, Math.exp(4 + normal(r)));
  return e;
}

/** Sums are floats, so compare them loosely and everything else exactly (failing ids as the set they are). */
function expectSameEvidence(x: Evidence, y: Evidence): void {
  const strip = (e: Evidence): unknown =>
    JSON.parse(JSON.stringify(e), (key, value: unknown) => (key === "sum" ? 0 : key === "failedIds" ? [...(value as number[])].sort((p, q) => p - q) : value));
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

/** Evidence of a plan with rings: a third of requests in staff, a tenth in continent:OC, each with an identity. */
function ringEvidence(seed: number, n: number, users: number): Evidence {
  const r = createRandom(seed);
  const e = emptyEvidence();
  for (let i = 0; i < n; i++) {
    const x = r();
    const ring = x < 0.3 ? "staff" : x < 0.4 ? "continent:OC" : undefined;
    recordOutcome(e, r() < 0.5 ? "canary" : "stable", r() < 0.02, Math.exp(4 + normal(r)), identityHash(`u${Math.floor(r() * users)}`), ring);
  }
  return e;
}

describe("mergeEvidence with rings (and their distinct-users sketches)", () => {
  const [a, b, c] = [ringEvidence(4, 3000, 40), ringEvidence(5, 2000, 4000), ringEvidence(6, 30, 8)] as [Evidence, Evidence, Evidence];

  it("is associative", () => expectSameEvidence(mergeEvidence(mergeEvidence(a, b), c), mergeEvidence(a, mergeEvidence(b, c))));
  it("is commutative", () => expectSameEvidence(mergeEvidence(a, b), mergeEvidence(b, a)));
  it("has emptyEvidence as identity", () => {
    expectSameEvidence(mergeEvidence(emptyEvidence(), a), a);
    expectSameEvidence(mergeEvidence(a, emptyEvidence()), a);
  });
  it("counts a ring's requests in the totals too, and its users per arm", () => {
    const e = emptyEvidence();
    for (const id of ["x", "y", "x", "z"]) recordOutcome(e, "canary", false, 10, identityHash(id), "staff");
    recordOutcome(e, "stable", true, 10, identityHash("w"), "staff");
    recordOutcome(e, "canary", false, 10, identityHash("q"));
    expect(e.canary.requests).toBe(5);
    expect(e.rings!.staff!.canary.requests).toBe(4);
    expect(countUsers(e.rings!.staff!.canary.users!)).toBe(3);
    expect(countUsers(e.rings!.staff!.stable.users!)).toBe(1);
    expect(e.rings!.staff!.stable.failedIds).toEqual([identityHash("w")]);
    // The totals carry no users sketch (status counts users per ring only).
    expect(e.canary.users).toBeUndefined();
  });
  it("survives a JSON round trip", () => {
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
