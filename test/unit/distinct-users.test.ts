import { describe, expect, it } from "vitest";
import { identityHash } from "../../src/core/evidence.js";
import { addUser, countUsers, emptyUsers, EXACT_USERS, isUsersSketch, mergeUsers, USERS_RELATIVE_ERROR, type UsersSketch } from "../../src/core/stats/distinct-users.js";

function sketchOf(ids: readonly string[]): UsersSketch {
  const u = emptyUsers();
  for (const id of ids) addUser(u, identityHash(id));
  return u;
}
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("distinct users per ring arm", () => {
  it("is exact up to EXACT_USERS identities, however often each is seen", () => {
    const u = emptyUsers();
    for (let round = 0; round < 5; round++) for (const id of ids("staff", EXACT_USERS)) addUser(u, identityHash(id));
    expect(countUsers(u)).toBe(EXACT_USERS);
    expect(countUsers(emptyUsers())).toBe(0);
    addUser(u, identityHash("one-more"));
    expect(u.ids).toBeUndefined();
    expect(countUsers(u)).toBeGreaterThan(EXACT_USERS);
  });

  it("estimates 10k identities within its stated error (1.04/sqrt(128) = 9.2%), on 20 independent sets", () => {
    const errors: number[] = [];
    for (let set = 0; set < 20; set++) {
      const n = 10_000;
      const u = emptyUsers();
      for (let i = 0; i < n; i++) for (let repeat = 0; repeat < 1 + (i % 3); repeat++) addUser(u, identityHash(`set${set}-user${i}`));
      errors.push(countUsers(u) / n - 1);
    }
    // Every estimate within 3 standard errors, and their spread about the stated one.
    for (const e of errors) expect(Math.abs(e)).toBeLessThan(3 * USERS_RELATIVE_ERROR);
    const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
    expect(rms).toBeLessThan(1.5 * USERS_RELATIVE_ERROR);
  });

  it("small counts past the exact list are close (linear counting)", () => {
    for (const n of [20, 50, 200]) expect(Math.abs(countUsers(sketchOf(ids("s", n))) / n - 1)).toBeLessThan(0.25);
  });

  it("merges commutatively and associatively, with emptyUsers as identity", () => {
    const a = sketchOf(ids("a", 5));
    const b = sketchOf(ids("b", 9));
    const c = sketchOf(ids("c", 3000));
    const small = sketchOf(ids("a", 3));
    expect(mergeUsers(a, b)).toEqual(mergeUsers(b, a));
    expect(mergeUsers(mergeUsers(a, b), c)).toEqual(mergeUsers(a, mergeUsers(b, c)));
    expect(mergeUsers(mergeUsers(a, b), small)).toEqual(mergeUsers(a, mergeUsers(b, small)));
    expect(mergeUsers(a, emptyUsers())).toEqual(a);
    expect(mergeUsers(emptyUsers(), c)).toEqual(c);
    // Overlaps count once: the union of a with itself and a subset of it.
    expect(countUsers(mergeUsers(a, small))).toBe(5);
    // A union past the exact list keeps only the estimate, whichever way it is grouped.
    expect(mergeUsers(a, b).ids).toHaveLength(14);
    const e = sketchOf(ids("e", 12));
    expect(mergeUsers(mergeUsers(a, b), e).ids).toBeUndefined();
    expect(mergeUsers(a, mergeUsers(b, e))).toEqual(mergeUsers(mergeUsers(a, b), e));
    expect(Math.abs(countUsers(mergeUsers(c, sketchOf(ids("d", 3000)))) / 6000 - 1)).toBeLessThan(3 * USERS_RELATIVE_ERROR);
  });

  it("merging is the same as adding every identity to one sketch", () => {
    const all = [...ids("x", 700), ...ids("y", 400)];
    expect(mergeUsers(sketchOf(all.slice(0, 500)), sketchOf(all.slice(500)))).toEqual(sketchOf(all));
  });

  it("is bounded on the wire: under 400 bytes of JSON per arm", () => {
    expect(JSON.stringify(sketchOf(ids("big", 100_000))).length).toBeLessThan(400);
    expect(JSON.stringify(sketchOf(ids("small", EXACT_USERS))).length).toBeLessThan(400);
  });

  it.each([
    ["a sketch", sketchOf(ids("v", 3)), true],
    ["an estimate", sketchOf(ids("v", 300)), true],
    ["not an object", "zzz", false],
    ["short registers", { r: "0".repeat(10), ids: [] }, false],
    ["a register out of range", { r: "z".repeat(128) }, false],
    ["too many exact ids", { r: "0".repeat(128), ids: Array.from({ length: EXACT_USERS + 1 }, (_, i) => i) }, false],
    ["an id that is not a 32-bit hash", { r: "0".repeat(128), ids: [-1] }, false],
    ["an unknown field", { r: "0".repeat(128), extra: 1 }, false],
  ] as const)("isUsersSketch: %s -> %s", (_, value, ok) => expect(isUsersSketch(value)).toBe(ok));
});
