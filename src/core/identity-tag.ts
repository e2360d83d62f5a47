// Minted identities carry a tag so a client cannot choose its own (and so its cohort):
// cookie value = `<id>.<tag>`, id = 16 random bytes (22 base64url chars), tag = the first
// 12 bytes of HMAC-SHA256(IDENTITY_SECRET, "edge-canary identity v1:" + id) (16 chars):
// 39 chars in all. 96 bits make an online forgery hopeless; the cohort hash uses the id
// only, so a rotated secret re-tags a user without moving them. Rotation: tags under
// the previous secret are still accepted (and re-issued under the current one).
// Comparison is constant-time (crypto.subtle.timingSafeEqual in workerd).
import { base64url } from "./base64url.js";

const TAG_BYTES = 12;
const CONTEXT = "edge-canary identity v1:";
const encoder = new TextEncoder();

/** Minted id: 16 bytes in 22 base64url chars, the last one carrying 2 bits (4 spare bits zero). */
export const MINTED_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
/** Minted cookie value: id, optionally `.tag` (12 bytes, 16 chars, no spare bits). */
const OWN_COOKIE = /^([A-Za-z0-9_-]{21}[AQgw])(?:\.([A-Za-z0-9_-]{16}))?$/;

export interface OwnCookie {
  id: string;
  tag: string | undefined;
}

/** The id and tag of an own-cookie value of the exact minted shape, or undefined. */
export function parseOwnCookie(value: string): OwnCookie | undefined {
  const m = OWN_COOKIE.exec(value);
  return m ? { id: m[1]!, tag: m[2] } : undefined;
}

export interface IdentitySecrets {
  current: string;
  previous?: string;
}

const keys = new Map<string, CryptoKey>();

async function key(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    // Two secrets live at a time (current, previous); a third means a rotation happened.
    if (keys.size >= 4) keys.clear();
    keys.set(secret, k);
  }
  return k;
}

async function tagBytes(secret: string, id: string): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign("HMAC", await key(secret), encoder.encode(CONTEXT + id));
  return new Uint8Array(mac, 0, TAG_BYTES);
}

/** The cookie value for an id under a secret: `<id>.<tag>`. */
export async function tagIdentity(secret: string, id: string): Promise<string> {
  return `${id}.${base64url(await tagBytes(secret, id))}`;
}

const fromB64url = (text: string): Uint8Array => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  // Node (unit tests) has no timingSafeEqual on SubtleCrypto: the same constant-time loop.
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Which secret signed the tag: "current", "previous", or undefined (forged, tampered, untagged). */
export async function verifyIdentityTag(cookie: OwnCookie, secrets: IdentitySecrets): Promise<"current" | "previous" | undefined> {
  if (cookie.tag === undefined) return undefined;
  const given = fromB64url(cookie.tag);
  if (equalBytes(await tagBytes(secrets.current, cookie.id), given)) return "current";
  if (secrets.previous && equalBytes(await tagBytes(secrets.previous, cookie.id), given)) return "previous";
  return undefined;
}
