import { describe, expect, it } from "vitest";
import { emptyEvidence, emptyMetrics, identityHash, isEmptyEvidence, MAX_METRIC_USERS, mergeEvidence, recordOutcome, type Evidence, type MetricEvidence } from "../../src/core/evidence.js";
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

/** Metric evidence of `n` users drawn from `range` hashes: a third exposed only, the rest with integer events (exact sums). */
function metricEvidence(seed: number, n: number, range: number): Evidence {
  const r = createRandom(seed);
  const e = emptyEvidence();
  const m = (e.metrics = emptyMetrics());
  for (let i = 0; i < n; i++) {
    const arm = r() < 0.5 ? m.canary : m.stable;
    const user = String(Math.floor(r() * range));
    const events = (arm[user] ??= {});
    if (r() < 0.33) continue;
    const name = r() < 0.5 ? "checkout" : "quality";
    const had = events[name] ?? [0, 0];
    events[name] = [had[0] + 1, had[1] + Math.floor(r() * 10)];
  }
  return e;
}

describe("mergeEvidence with metrics (per-user events)", () => {
  const [a, b, c] = [metricEvidence(7, 3000, 5000), metricEvidence(8, 2000, 5000), metricEvidence(9, 40, 30)] as [Evidence, Evidence, Evidence];
  // Unions past MAX_METRIC_USERS per arm: the cap and its overflow are in the laws too.
  const [x, y, z] = [metricEvidence(10, 9000, 20_000), metricEvidence(11, 9000, 20_000), metricEvidence(12, 9000, 20_000)] as [Evidence, Evidence, Evidence];

  it("is associative", () => expectSameEvidence(mergeEvidence(mergeEvidence(a, b), c), mergeEvidence(a, mergeEvidence(b, c))));
  it("is commutative", () => expectSameEvidence(mergeEvidence(a, b), mergeEvidence(b, a)));
  it("has emptyEvidence as identity", () => {
    expectSameEvidence(mergeEvidence(emptyEvidence(), a), a);
    expectSameEvidence(mergeEvidence(a, emptyEvidence()), a);
  });
  it("is associative and commutative past the user cap", () => {
    const left = mergeEvidence(mergeEvidence(x, y), z);
    expect(left.metrics!).toEqual(mergeEvidence(x, mergeEvidence(y, z)).metrics);
    expect(left.metrics!).toEqual(mergeEvidence(mergeEvidence(z, x), y).metrics);
  });
  it("keeps at most MAX_METRIC_USERS users per arm and counts the dropped users' events in overflow", () => {
    const m = mergeEvidence(mergeEvidence(x, y), z).metrics!;
    expect(Object.keys(m.canary).length).toBe(MAX_METRIC_USERS);
    expect(Object.keys(m.stable).length).toBe(MAX_METRIC_USERS);
    const events = (e: MetricEvidence): number =>
      [e.stable, e.canary].reduce((n, arm) => n + Object.values(arm).reduce((k, u) => k + Object.values(u).reduce((j, [count]) => j + count, 0), 0), 0) + (e.overflow ?? 0);
    // No event is lost: each is attributed or counted.
    expect(events(m)).toBe(events(x.metrics!) + events(y.metrics!) + events(z.metrics!));
    expect(m.overflow).toBeGreaterThan(0);
  });
  it("adds a user's counts and sums per metric and keeps exposures ({})", () => {
    const p: Evidence = { ...emptyEvidence(), metrics: { stable: { "1": {} }, canary: { "2": { checkout: [1, 1] } } } };
    const q: Evidence = { ...emptyEvidence(), metrics: { stable: { "3": { quality: [2, 1.5] } }, canary: { "2": { checkout: [2, 2], quality: [1, 0.5] } } } };
    expect(mergeEvidence(p, q).metrics).toEqual({ stable: { "1": {}, "3": { quality: [2, 1.5] } }, canary: { "2": { checkout: [3, 3], quality: [1, 0.5] } } });
  });
  it("reads only own properties (a metric named constructor)", () => {
    const p: Evidence = { ...emptyEvidence(), metrics: { stable: {}, canary: { "2": {} } } };
    const q: Evidence = { ...emptyEvidence(), metrics: { stable: {}, canary: { "2": { constructor: [1, 4] as const } } } };
    expect(mergeEvidence(p, q).metrics!.canary["2"]!.constructor).toEqual([1, 4]);
  });
  it("is pure", () => {
    const before = JSON.stringify(a);
    const m = mergeEvidence(a, b);
    const some = Object.values(m.metrics!.canary).find((u) => u.checkout)!;
    some.checkout = [99, 99];
    expect(JSON.stringify(a)).toBe(before);
  });
});

describe("isEmptyEvidence with metrics", () => {
  it("an exposure alone is evidence; empty metric arms are not", () => {
    expect(isEmptyEvidence({ ...emptyEvidence(), metrics: emptyMetrics() })).toBe(true);
    expect(isEmptyEvidence({ ...emptyEvidence(), metrics: { stable: {}, canary: { "5": {} } } })).toBe(false);
    expect(isEmptyEvidence({ ...emptyEvidence(), metrics: { stable: {}, canary: {}, overflow: 3 } })).toBe(false);
  });
});
