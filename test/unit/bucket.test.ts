// Properties of the sticky cohorts: the canary share matches the weight, assignment is
// deterministic and monotone in the weight, a new release reshuffles, buckets are
// uniform; and murmur3 is pinned so cohorts never silently reshuffle on a refactor.
import { describe, expect, it } from "vitest";
import { BUCKETS, bucketOf, murmur3, releaseSalt, variantFor } from "../../src/core/bucket.js";

/** mulberry32: a tiny seeded PRNG so every run sees the same "random" identities. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** `count` ids shaped like minted ones (22 base64url chars), from a fixed seed. */
function randomIds(count: number, seed: number): string[] {
  const next = mulberry32(seed);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    let id = "";
    for (let j = 0; j < 22; j++) id += B64URL.charAt(Math.floor(next() * 64));
    ids.push(id);
  }
  return ids;
}

const N = 100_000;
const IDS = randomIds(N, 0xc0ffee);
const SALT_A = releaseSalt("shop", "2024.06.01");
const SALT_B = releaseSalt("shop", "2024.06.02");
const BUCKETS_A = IDS.map((id) => bucketOf(SALT_A, id));
const BUCKETS_B = IDS.map((id) => bucketOf(SALT_B, id));

const canaryShare = (buckets: readonly number[], weight: number): number =>
  buckets.filter((b) => variantFor(b, weight) === "canary").length / buckets.length;

describe("bucketOf", () => {
  it("stays in [0, BUCKETS) and is an integer", () => {
    expect(BUCKETS).toBe(10_000);
    // One expect for the whole set: 100,000 expect calls alone would take seconds.
    expect(BUCKETS_A.filter((b) => !(Number.isInteger(b) && b >= 0 && b < BUCKETS))).toEqual([]);
  });

  it("is deterministic: same salt and identity give the same bucket on every call", () => {
    const again = IDS.map((id) => bucketOf(releaseSalt("shop", "2024.06.01"), id));
    expect(again).toEqual(BUCKETS_A);
  });

  it.each([
    ["random ids", BUCKETS_A],
    ["sequential app ids", Array.from({ length: N }, (_, i) => bucketOf(SALT_A, `user-${i}`))],
  ])("spreads %s uniformly over 100 cells (chi-square, loose bound)", (_name, buckets) => {
    const cells = new Array<number>(100).fill(0);
    for (const b of buckets) cells[Math.floor(b / 100)]! += 1;
    const expected = buckets.length / 100;
    const chi2 = cells.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    // 99 degrees of freedom: mean 99, sd 14; 200 is far beyond p = 1e-8.
    expect(chi2).toBeLessThan(200);
  });

  it("reshuffles for a new release: canary users of A are canary under B at about the weight", () => {
    for (const weight of [5, 50]) {
      const canaryA = BUCKETS_A.flatMap((b, i) => (variantFor(b, weight) === "canary" ? [i] : []));
      const stayed = canaryA.filter((i) => variantFor(BUCKETS_B[i]!, weight) === "canary").length;
      // Independent cohorts: P(canary under B | canary under A) = weight.
      expect(Math.abs((stayed / canaryA.length) * 100 - weight)).toBeLessThan(2);
    }
  });

  it("reshuffles for another route with the same release id", () => {
    const other = IDS.slice(0, 20_000).map((id) => bucketOf(releaseSalt("cart", "2024.06.01"), id));
    const canaryA = other.flatMap((_, i) => (variantFor(BUCKETS_A[i]!, 50) === "canary" ? [i] : []));
    const both = canaryA.filter((i) => variantFor(other[i]!, 50) === "canary").length;
    expect(Math.abs(both / canaryA.length - 0.5)).toBeLessThan(0.03);
  });
});

describe("variantFor", () => {
  it.each([1, 5, 12.5, 50, 99])("gives the canary to %s%% of identities, within 0.5 points", (weight) => {
    expect(Math.abs(canaryShare(BUCKETS_A, weight) * 100 - weight)).toBeLessThan(0.5);
  });

  it("gives nobody the canary at 0% and everybody at 100%", () => {
    expect(canaryShare(BUCKETS_A, 0)).toBe(0);
    expect(canaryShare(BUCKETS_A, 100)).toBe(1);
  });

  it("is monotone: raising the weight only moves stable -> canary, lowering only canary -> stable", () => {
    const next = mulberry32(42);
    const weights = [0, 0.01, 0.07, 1, 5, 25, 50, 99.99, 100];
    for (let i = 0; i < 150; i++) weights.push(Math.round(next() * 10_000) / 100);
    weights.sort((a, b) => a - b);
    const sample = BUCKETS_A.slice(0, 20_000);
    let moved = 0;
    for (let w = 1; w < weights.length; w++) {
      const lower = weights[w - 1]!;
      const higher = weights[w]!;
      for (const b of sample) {
        const atLower = variantFor(b, lower);
        const atHigher = variantFor(b, higher);
        if (atLower === "canary" && atHigher !== "canary") {
          throw new Error(`bucket ${b} is canary at ${lower}% but stable at ${higher}%`);
        }
        if (atLower !== atHigher) moved++;
      }
    }
    // Every sampled identity becomes canary exactly once on the way from 0 to 100%.
    expect(moved).toBe(sample.length);
  });

  it.each([
    [0, 0, "stable"],
    [0, 0.01, "canary"],
    [1, 0.01, "stable"],
    [6, 0.07, "canary"], // 0.07 * 100 = 7.000000000000001 rounds to the 7-bucket threshold
    [7, 0.07, "stable"],
    [499, 5, "canary"],
    [500, 5, "stable"],
    [9_999, 99.99, "stable"],
    [9_999, 100, "canary"],
  ] as const)("bucket %s at %s%% is %s", (bucket, weight, variant) => {
    expect(variantFor(bucket, weight)).toBe(variant);
  });
});

describe("releaseSalt", () => {
  it("separates route and release so that concatenations cannot collide", () => {
    expect(releaseSalt("ab", "c")).not.toBe(releaseSalt("a", "bc"));
  });
});

/** Packs an even-length byte string into UTF-16 code units, low byte first. */
const packBytes = (bytes: string): string => {
  let out = "";
  for (let i = 0; i < bytes.length; i += 2) out += String.fromCharCode(bytes.charCodeAt(i) | (bytes.charCodeAt(i + 1) << 8));
  return out;
};

describe("murmur3", () => {
  // murmur3(s) is MurmurHash3_x86_32 over the UTF-16LE bytes of s. Packing an
  // even-length byte string two bytes per code unit therefore reproduces the reference
  // test vectors (Austin Appleby's SMHasher / the usual published table).
  it.each([
    ["", 0, 0x00000000],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["\0\0", 0, 0x30f4c306],
    ["\0\0\0\0", 0, 0x2362f9de],
    ["\xff\xff\xff\xff", 0, 0x76293b50],
    ["\x21\x43", 0, 0xa0f7b07a],
    ["\x21\x43\x65\x87", 0, 0xf55b516b],
    ["\x21\x43\x65\x87", 0x5082edee, 0x2362f9de],
    ["aa", 0x9747b28c, 0x5d211726],
    ["ab", 0x9747b28c, 0x74875592],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["abcd", 0x9747b28c, 0xf0478627],
  ])("matches the reference for bytes %j, seed %i", (bytes, seed, expected) => {
    expect(murmur3(packBytes(bytes), seed)).toBe(expected);
  });

  // These pin the current function, not a reference: cohorts are murmur3(salt, id), so
  // any change here silently moves users between stable and canary mid-rollout.
  it.each([
    ["a", 1_867_108_634],
    ["ab", 374_890_698],
    ["abc", 1_118_836_419],
    ["hello, world", 2_217_074_432],
    ["canary", 1_822_351_103],
    ["\u00e9\u4e2d", 3_953_034_583],
    ["\u{1f600}", 1_443_257_913],
  ])("pins murmur3(%j) = %i", (key, expected) => {
    expect(murmur3(key)).toBe(expected);
  });

  it("pins bucketOf for one release salt", () => {
    expect(bucketOf(releaseSalt("shop", "r1"), "AAAAAAAAAAAAAAAAAAAAAA")).toBe(4473);
    expect(bucketOf(releaseSalt("shop", "r2"), "AAAAAAAAAAAAAAAAAAAAAA")).toBe(2930);
  });

  it("returns an unsigned 32-bit integer", () => {
    const bad = IDS.map((id) => murmur3(id)).filter((h) => !(Number.isInteger(h) && h >= 0 && h <= 0xffffffff));
    expect(bad).toEqual([]);
  });
});
