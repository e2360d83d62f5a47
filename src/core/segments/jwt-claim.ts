// A signed claim as a segment source: the JWT in a header (a `Bearer ` prefix dropped)
// or a cookie, verified with the key in a Worker secret, then one claim read by its
// dot-path. Only the configured alg is accepted (the token's header must name it: no
// `none`, no algorithm switch), a `crit` header is refused (we implement no extension),
// exp and nbf are judged with leewaySec, iss and aud when configured. Any malformed,
// oversized, forged or expired token reads as absent: it never throws, never matches.
//
// Verified tokens are kept per reader (one per predicate of a parsed config) in a small
// bounded map keyed by the token, with the claim and the token's time window, so a
// returning user costs a map lookup rather than a signature check; exp and nbf are
// judged again on every hit. Only tokens that verified are kept: a forgery costs its
// sender one verification each time, bounded by MAX_JWT_LENGTH. A changed secret
// empties the map.
import type { PredicateConfig } from "../config/schema.js";
import type { RequestFacts, SegmentSources } from "./request-facts.js";
import { VERIFY_PARAMS, verificationKey } from "./jwt-key.js";
import type { SourceValue } from "./value-test.js";

export type JwtSource = NonNullable<PredicateConfig["jwt"]>;

/** Longest token read, in characters (8 KiB): a larger one never matches. */
export const MAX_JWT_LENGTH = 8192;
/** Verified tokens kept per predicate (oldest dropped first). */
export const VERIFIED_JWT_CACHE_SIZE = 5000;

interface Verified {
  value: SourceValue;
  exp: number | undefined;
  nbf: number | undefined;
}

const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class JwtClaimReader {
  private readonly verified = new Map<string, Verified>();
  private secret: string | undefined;
  private readonly path: readonly string[];

  constructor(
    private readonly src: JwtSource,
    private readonly maxCached = VERIFIED_JWT_CACHE_SIZE,
  ) {
    this.path = src.claim.split(".");
  }

  /** The claim of the request's token; undefined when there is none or it does not verify. Synchronous on a cache hit. */
  read(facts: RequestFacts, sources: SegmentSources): SourceValue | Promise<SourceValue> {
    const token = this.token(facts);
    if (token === undefined || token.length > MAX_JWT_LENGTH) return undefined;
    const secret = sources.secret(this.src.secret);
    if (!secret) return undefined;
    if (secret !== this.secret) {
      this.verified.clear();
      this.secret = secret;
    }
    const hit = this.verified.get(token);
    if (hit) return this.inWindow(hit, facts.nowSec) ? hit.value : undefined;
    return this.verify(token, secret, facts.nowSec);
  }

  private token(facts: RequestFacts): string | undefined {
    if (this.src.cookie !== undefined) return facts.cookie(this.src.cookie);
    const raw = facts.header(this.src.header!);
    if (raw === null) return undefined;
    const v = raw.trim();
    return /^bearer /i.test(v) ? v.slice(7).trim() : v;
  }

  private inWindow(v: Verified, nowSec: number): boolean {
    const leeway = this.src.leewaySec;
    if (v.exp !== undefined && nowSec > v.exp + leeway) return false;
    if (v.nbf !== undefined && nowSec + leeway < v.nbf) return false;
    return true;
  }

  private verify(token: string, secret: string, nowSec: number): SourceValue | Promise<SourceValue> {
    if (!SHAPE.test(token)) return undefined;
    const dot1 = token.indexOf(".");
    const dot2 = token.indexOf(".", dot1 + 1);
    const header = jsonObject(token.slice(0, dot1));
    if (!header || header.alg !== this.src.alg || header.crit !== undefined) return undefined;
    const payload = jsonObject(token.slice(dot1 + 1, dot2));
    if (!payload) return undefined;
    const exp = payload.exp;
    const nbf = payload.nbf;
    if ((exp !== undefined && typeof exp !== "number") || (nbf !== undefined && typeof nbf !== "number")) return undefined;
    if (this.src.issuer !== undefined && payload.iss !== this.src.issuer) return undefined;
    if (this.src.audience !== undefined && !audienceHas(payload.aud, this.src.audience)) return undefined;
    const entry: Verified = { value: claimAt(payload, this.path), exp: exp as number | undefined, nbf: nbf as number | undefined };
    // An expired token is refused before any crypto.
    if (!this.inWindow(entry, nowSec)) return undefined;
    const signature = bytesOf(token.slice(dot2 + 1));
    if (!signature) return undefined;
    const key = verificationKey(this.src.alg, secret);
    const check = (k: CryptoKey | null): Promise<SourceValue> | undefined => {
      if (k === null) return undefined;
      return crypto.subtle.verify(VERIFY_PARAMS[this.src.alg], k, signature, encoder.encode(token.slice(0, dot2))).then(
        (ok) => {
          if (!ok) return undefined;
          if (this.secret === secret) this.remember(token, entry);
          return entry.value;
        },
        () => undefined,
      );
    };
    return key instanceof Promise ? key.then(check) : check(key);
  }

  private remember(token: string, entry: Verified): void {
    if (this.verified.size >= this.maxCached) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, entry);
  }
}

function audienceHas(aud: unknown, want: string): boolean {
  if (typeof aud === "string") return aud === want;
  return Array.isArray(aud) && aud.includes(want);
}

/** The claim at a dot-path: a string, a number or boolean as a string, a list of those; anything else absent. */
function claimAt(payload: Record<string, unknown>, path: readonly string[]): SourceValue {
  let v: unknown = payload;
  for (const key of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  if (Array.isArray(v)) {
    const list = v.map(scalar).filter((s): s is string => s !== undefined);
    return list.length > 0 ? list : undefined;
  }
  return scalar(v);
}

function scalar(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "boolean") return String(v);
  return undefined;
}

function bytesOf(part: string): Uint8Array | undefined {
  try {
    const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  const bytes = bytesOf(part);
  if (!bytes) return undefined;
  try {
    const v = JSON.parse(decoder.decode(bytes)) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
