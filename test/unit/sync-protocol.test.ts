import { describe, expect, it } from "vitest";
import { emptyEvidence, identityHash, MAX_RINGS, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { checkDelta, MAX_RING_KEY } from "../../src/core/sync-protocol.js";

function withRings(keys: readonly string[]): Evidence {
  const e = emptyEvidence();
  for (const key of keys) recordOutcome(e, "canary", true, 20, identityHash(key), key);
  return e;
}

describe("checkDelta: what a coordinator merges", () => {
  it("accepts evidence as isolates record it, with and without rings", () => {
    expect(checkDelta(emptyEvidence())).toBeUndefined();
    const e = withRings(["staff", "continent:OC", "colo:AKL+colo:SYD"]);
    expect(checkDelta(e)).toBeUndefined();
    expect(checkDelta(JSON.parse(JSON.stringify(e)))).toBeUndefined();
    expect(checkDelta(withRings(Array.from({ length: MAX_RINGS }, (_, i) => `ring-${i}`)))).toBeUndefined();
  });

  it.each([
    ["null", null, "delta is not evidence"],
    ["an array", [], "delta is not evidence"],
    ["no canary arm", { stable: emptyEvidence().stable }, "canary is not an arm"],
    ["a negative count", { ...emptyEvidence(), stable: { ...emptyEvidence().stable, requests: -1 } }, "stable: requests and errors must be counts"],
    ["a latency that is not a sketch", { ...emptyEvidence(), canary: { requests: 1, errors: 0, latency: 5 } }, "canary: latency is not a sketch"],
    ["rings not a record", { ...emptyEvidence(), rings: [1, 2] }, "rings is not a record"],
    ["a ring without arms", { ...emptyEvidence(), rings: { staff: { stable: 1 } } }, "ring staff stable is not an arm"],
    ["a ring with a broken users sketch", (() => { const e = withRings(["staff"]); e.rings!.staff!.canary.users = { r: "x" }; return e; })(), "ring staff canary: users is not a users sketch"],
    ["too many failing ids", (() => { const e = withRings(["staff"]); e.rings!.staff!.canary.failedIds = Array.from({ length: 513 }, (_, i) => i); return e; })(), "ring staff canary: failedIds must be at most 512 numbers"],
  ] as const)("refuses %s", (_, delta, reason) => expect(checkDelta(delta)).toBe(reason));

  it("refuses more than MAX_RINGS rings", () => {
    expect(checkDelta(withRings(Array.from({ length: MAX_RINGS + 1 }, (_, i) => `ring-${i}`)))).toBe(`${MAX_RINGS + 1} rings (at most ${MAX_RINGS})`);
  });

  it("refuses a huge ring key, and an empty one", () => {
    expect(checkDelta(withRings(["k".repeat(MAX_RING_KEY)]))).toBeUndefined();
    expect(checkDelta(withRings(["k".repeat(MAX_RING_KEY + 1)]))).toBe(`a ring key of ${MAX_RING_KEY + 1} characters (1 to ${MAX_RING_KEY})`);
    expect(checkDelta(withRings([""]))).toBe(`a ring key of 0 characters (1 to ${MAX_RING_KEY})`);
  });

  it("never throws, whatever it is given", () => {
    const odd: unknown[] = [undefined, 0, "x", { stable: null, canary: null }, { stable: { requests: 1, errors: 0, latency: { count: 1, bins: null } } }, { ...emptyEvidence(), rings: { a: null } }, { ...emptyEvidence(), shadow: 3 }];
    for (const d of odd) expect(typeof checkDelta(d)).toBe("string");
  });
});
