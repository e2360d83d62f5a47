// Signed QA override tokens: `v1.<variant>.<route|*>.<expiresEpochSec>.<hmac>` where
// hmac = base64url(HMAC-SHA256(OVERRIDE_SECRET, everything before it)). Only a token
// signed with the Worker secret, unexpired and for this route pins a variant; anything
// else is ignored (the request is routed as if no override was sent). Verification goes
// through crypto.subtle.verify, which compares in constant time.
import { base64url } from "./base64url.js";
import type { Variant } from "./config/schema.js";

const encoder = new TextEncoder();
let cachedKey: { secret: string; key: CryptoKey } | undefined;

async function hmacKey(secret: string): Promise<CryptoKey> {
  if (cachedKey?.secret === secret) return cachedKey.key;
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  cachedKey = { secret, key };
  return key;
}


const fromB64url = (text: string): Uint8Array | undefined => {
  // 43 chars carry 258 bits; the last char's 2 spare bits must be zero, else atob would
  // accept several spellings of one signature (a token would not be one string).
  if (!/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(text)) return undefined;
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=");
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};

/** Mints a token (used by the CLI and tests). `route` "*" means every route. */
export async function signOverride(
  secret: string,
  variant: Variant,
  route: string,
  expiresAtSec: number,
): Promise<string> {
  const payload = `v1.${variant}.${route}.${Math.floor(expiresAtSec)}`;
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(payload));
  return `${payload}.${base64url(sig)}`;
}

/** The variant a token pins, or undefined when it is forged, expired or for another route. */
export async function verifyOverride(
  token: string,
  secret: string,
  routeId: string,
  nowSec: number,
): Promise<Variant | undefined> {
  if (token.length > 200) return undefined;
  const parts = token.split(".");
  if (parts.length !== 5 || parts[0] !== "v1") return undefined;
  const [, variant, route, exp, sig] = parts as [string, string, string, string, string];
  if (variant !== "stable" && variant !== "canary") return undefined;
  if (route !== "*" && route !== routeId) return undefined;
  if (!/^\d{1,12}$/.test(exp) || Number(exp) < nowSec) return undefined;
  const sigBytes = fromB64url(sig);
  if (!sigBytes) return undefined;
  const payload = `v1.${variant}.${route}.${exp}`;
  const valid = await crypto.subtle.verify("HMAC", await hmacKey(secret), sigBytes, encoder.encode(payload));
  return valid ? variant : undefined;
}
