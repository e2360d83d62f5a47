// Verification keys of JWT segments, imported from a Worker secret's text once per
// isolate: the shared secret itself for HS256, a public key for RS256 and ES256 as JWK
// JSON (only the public members are read, so a private JWK pasted by mistake still
// verifies and never signs) or as PEM SPKI ("-----BEGIN PUBLIC KEY-----"). A secret
// that does not import is remembered as unusable: its segment never matches, and it
// costs no import per request. Only settled keys are kept (never a promise).
import type { PredicateConfig } from "../config/schema.js";

export type JwtAlg = NonNullable<PredicateConfig["jwt"]>["alg"];

/** What crypto.subtle.verify is called with per algorithm. */
export const VERIFY_PARAMS: Readonly<Record<JwtAlg, string | SubtleCryptoSignAlgorithm>> = {
  HS256: "HMAC",
  RS256: "RSASSA-PKCS1-v1_5",
  ES256: { name: "ECDSA", hash: "SHA-256" },
};

const IMPORT_PARAMS: Readonly<Record<JwtAlg, SubtleCryptoImportKeyAlgorithm>> = {
  HS256: { name: "HMAC", hash: "SHA-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
};

/** Distinct (alg, secret) pairs kept; a config names at most a few keys. */
const MAX_KEYS = 32;
const keys = new Map<string, CryptoKey | null>();

/** The key of `secret` for `alg`: from the cache when imported before; null when the secret is no such key. */
export function verificationKey(alg: JwtAlg, secret: string): CryptoKey | null | Promise<CryptoKey | null> {
  const id = `${alg}\u0000${secret}`;
  const known = keys.get(id);
  if (known !== undefined) return known;
  return importKey(alg, secret).then((key) => {
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(id, key);
    return key;
  });
}

async function importKey(alg: JwtAlg, secret: string): Promise<CryptoKey | null> {
  try {
    if (alg === "HS256") return await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), IMPORT_PARAMS.HS256, false, ["verify"]);
    const text = secret.trim();
    if (text.startsWith("{")) {
      const jwk = publicJwk(JSON.parse(text) as Record<string, unknown>, alg);
      return jwk ? await crypto.subtle.importKey("jwk", jwk, IMPORT_PARAMS[alg], false, ["verify"]) : null;
    }
    const spki = pemBody(text);
    return spki ? await crypto.subtle.importKey("spki", spki, IMPORT_PARAMS[alg], false, ["verify"]) : null;
  } catch {
    return null;
  }
}

function publicJwk(jwk: Record<string, unknown>, alg: JwtAlg): JsonWebKey | undefined {
  const str = (k: string): string | undefined => (typeof jwk[k] === "string" ? (jwk[k] as string) : undefined);
  if (alg === "RS256" && jwk.kty === "RSA" && str("n") && str("e")) return { kty: "RSA", n: str("n"), e: str("e") };
  if (alg === "ES256" && jwk.kty === "EC" && jwk.crv === "P-256" && str("x") && str("y")) return { kty: "EC", crv: "P-256", x: str("x"), y: str("y") };
  return undefined;
}

function pemBody(text: string): Uint8Array | undefined {
  const m = /^-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----$/.exec(text);
  if (!m) return undefined;
  const bin = atob(m[1]!.replace(/\s+/g, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
