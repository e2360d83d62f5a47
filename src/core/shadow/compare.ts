// The pure parts of comparing stable's answer with the canary's to one mirrored request:
// status class, the listed headers, and the words a mismatch is reported in. No streams,
// no clock: the edge (src/edge/shadow-mirror.ts) reads the bodies and hands bytes or
// parsed JSON here. A detail never carries a value that may be a secret (cookies, auth
// headers) and is cut to MAX_DETAIL, since it ends up in samples, the admin API and a blob.
import { MAX_DETAIL } from "./shadow-outcome.js";

/** Headers whose values are never put into a detail, only their names. */
const SECRET_HEADERS: ReadonlySet<string> = new Set(["set-cookie", "cookie", "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate"]);

/** Longest header value quoted in a detail: enough to tell two content types apart. */
const MAX_VALUE = 60;

export const clipDetail = (s: string): string => (s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s);

/** A status as a detail names it: the code, or what came instead of one. */
const statusText = (status: number): string => (status === 0 ? "no response" : String(status));

/** Detail when the two statuses differ in class (2xx vs 4xx), else undefined: 200 and 204 agree. */
export function compareStatus(stable: number, canary: number): string | undefined {
  if (Math.floor(stable / 100) === Math.floor(canary / 100)) return undefined;
  return `stable ${statusText(stable)}, canary ${statusText(canary)}`;
}

const quote = (v: string | null): string => (v === null ? "absent" : JSON.stringify(v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}…` : v));

/**
 * Detail naming the listed headers (lower-case) whose values differ, else undefined.
 * Values are quoted for ordinary headers; for cookie and auth headers only the name.
 */
export function compareHeaders(names: readonly string[], stable: (name: string) => string | null, canary: (name: string) => string | null): string | undefined {
  let parts: string[] | undefined;
  for (const name of names) {
    const a = stable(name);
    const b = canary(name);
    if (a === b) continue;
    (parts ??= []).push(SECRET_HEADERS.has(name) ? name : `${name}: ${quote(a)} vs ${quote(b)}`);
  }
  return parts ? clipDetail(parts.join("; ")) : undefined;
}

/**
 * Offset of the first byte where a and b differ within their common length, or -1.
 * Four bytes per step while both are 4-byte aligned (a whole body is compared on every
 * mirror of an exact comparison: 16 KiB is 4,096 steps, not 16,384).
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = n >>> 2;
    const x = new Uint32Array(a.buffer, a.byteOffset, words);
    const y = new Uint32Array(b.buffer, b.byteOffset, words);
    let w = 0;
    while (w < words && x[w] === y[w]) w++;
    i = w << 2;
  }
  for (; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** What the exact body comparison knows of the two bodies once both are read. */
export interface BodyDigest {
  /** SHA-256 of the whole body (hex) when it was streamed; absent when `head` is the whole body. */
  hash?: string;
  bytes: number;
  /** The whole body (no hash), or its first bytes, kept to say where two bodies first differ (may be empty). */
  head: Uint8Array;
}

/**
 * Detail when two bodies differ, else undefined: the first differing byte when the
 * bytes show it. Both digests must be of one kind (both whole, or both hashed).
 */
export function compareBodies(stable: BodyDigest, canary: BodyDigest): string | undefined {
  const whole = stable.hash === undefined && canary.hash === undefined;
  if (stable.bytes === canary.bytes && (whole ? firstDifference(stable.head, canary.head) === -1 : stable.hash === canary.hash)) return undefined;
  const at = firstDifference(stable.head, canary.head);
  const sizes = stable.bytes === canary.bytes ? `${stable.bytes} bytes each` : `stable ${stable.bytes} bytes, canary ${canary.bytes}`;
  if (at >= 0) return `first difference at byte ${at} (${sizes})`;
  const seen = Math.min(stable.head.length, canary.head.length);
  // One body is a prefix of the other, within the kept bytes.
  if (whole || seen === Math.min(stable.bytes, canary.bytes)) return `first difference at byte ${seen} (${sizes})`;
  // No bytes kept: only the hash says.
  if (seen === 0) return `sha-256 differs (${sizes})`;
  return `sha-256 differs after byte ${seen} (${sizes})`;
}
