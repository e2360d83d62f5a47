// Sticky cohorts: hash(salt, identity) -> bucket in [0, 10000). A user is canary when
// their bucket is below weight * 100, so raising the weight only ever moves users
// stable -> canary and lowering it only canary -> stable. MurmurHash3 (x86, 32-bit)
// over UTF-16 code units: synchronous, allocation-free and well mixed, which the hot
// path needs (WebCrypto digests are async and ~100x slower). It is not a secret-keyed
// hash: a user who crafts their own identity can pick their bucket, which only ever
// chooses between two versions we are serving anyway; pinning a variant on purpose
// goes through the signed override instead.
import type { Variant } from "./config/schema.js";

export const BUCKETS = 10_000;

export function murmur3(key: string, seed = 0): number {
  let h = seed >>> 0;
  const n = key.length;
  // Two UTF-16 code units form one 32-bit block.
  const blocks = n >>> 1;
  for (let i = 0; i < blocks; i++) {
    let k = (key.charCodeAt(2 * i) | (key.charCodeAt(2 * i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (n & 1) {
    let k = key.charCodeAt(n - 1);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The salt of a release: route and release id, so a new release reshuffles cohorts. */
export const releaseSalt = (routeId: string, release: string): string => `${routeId}\u0000${release}`;

/** Bucket of an identity under a salt, in [0, BUCKETS). 2^32 mod 10^4 bias is < 1e-6. */
export const bucketOf = (salt: string, identity: string): number =>
  murmur3(`${salt}\u0000${identity}`) % BUCKETS;

/** Variant for a bucket at a canary weight in percent (0.01 resolution). */
export const variantFor = (bucket: number, weightPercent: number): Variant =>
  bucket < Math.round(weightPercent * 100) ? "canary" : "stable";
