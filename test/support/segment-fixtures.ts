// Helpers of the segment tests: a config parsed from segments (so defaults apply as in
// production), facts of a made-up request, sources with secrets and lists, and JWTs
// signed in the test with WebCrypto (HS256, RS256, ES256).
import { base64url } from "../../src/core/base64url.js";
import { validateConfig } from "../../src/core/config/parse.js";
import type { Config, ConfigInput } from "../../src/core/config/schema.js";
import { requestFacts, type RequestFacts, type SegmentSources } from "../../src/core/segments/request-facts.js";

export function configWith(segments: ConfigInput["segments"], routes: ConfigInput["routes"] = [{ id: "www", stable: { origin: "http://127.0.0.1:1" }, canary: { origin: "http://127.0.0.1:2" }, release: "r1" }]): Config {
  const parsed = validateConfig({ version: 1, segments, routes });
  if (!parsed.ok) throw new Error(parsed.error.join("; "));
  return parsed.value;
}

export function facts(over: { host?: string; path?: string; headers?: Record<string, string>; cf?: Record<string, unknown>; identity?: string; nowSec?: number } = {}): RequestFacts {
  return requestFacts({
    host: over.host ?? "app.test",
    path: over.path ?? "/",
    headers: new Headers(over.headers ?? {}),
    cf: over.cf,
    identity: over.identity ?? "user-1",
    nowSec: over.nowSec ?? 1_800_000_000,
  });
}

export function sources(secrets: Record<string, string> = {}, lists: Record<string, ReadonlySet<string> | Promise<ReadonlySet<string> | undefined>> = {}): SegmentSources {
  return { secret: (n) => secrets[n], identityList: (k) => lists[k] };
}

const b64url = base64url;
const enc = (v: unknown): string => b64url(new TextEncoder().encode(JSON.stringify(v)));

export async function signHs256(secret: string, payload: Record<string, unknown>, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${b64url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)))}`;
}

export interface KeyPair {
  sign(payload: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  jwk: string;
  pem: string;
}

export async function keyPair(alg: "RS256" | "ES256"): Promise<KeyPair> {
  const params = alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" } : { name: "ECDSA", namedCurve: "P-256" };
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = JSON.stringify(await crypto.subtle.exportKey("jwk", pair.publicKey));
  const spki = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey) as ArrayBuffer)));
  const pem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
  const signParams = alg === "RS256" ? "RSASSA-PKCS1-v1_5" : { name: "ECDSA", hash: "SHA-256" };
  return {
    jwk,
    pem,
    async sign(payload, header = { alg, typ: "JWT" }) {
      const input = `${enc(header)}.${enc(payload)}`;
      return `${input}.${b64url(await crypto.subtle.sign(signParams, pair.privateKey, new TextEncoder().encode(input)))}`;
    },
  };
}

/** A token with a replaced part (0 header, 1 payload, 2 signature). */
export function withPart(token: string, i: number, part: string): string {
  const parts = token.split(".");
  parts[i] = part;
  return parts.join(".");
}

export const encodePart = enc;
