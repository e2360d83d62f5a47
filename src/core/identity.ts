// Who is this user, for cohort purposes? The configured source (the app's own cookie
// or header) wins; otherwise our own cookie; otherwise a fresh random id that the edge
// sets as a cookie. Our own cookie must have the exact minted shape (identity-tag.ts):
// anything else is treated as absent and replaced, so a garbage or oversized cookie
// cannot reach the hash. Its tag is checked by the edge when IDENTITY_SECRET is set
// (edge/identity-check.ts). An app-supplied identity is trusted input: the app vouches
// for it, and a client that can set it can choose its cohort.
import { base64url } from "./base64url.js";
import { readCookie } from "./cookies.js";
import type { RouteConfig } from "./config/schema.js";
import { parseOwnCookie } from "./identity-tag.js";

export const MAX_APP_IDENTITY = 256;

export type IdentitySource = "app-cookie" | "header" | "own-cookie" | "minted";

export interface Identity {
  id: string;
  source: IdentitySource;
  /** The own cookie's tag, still to be verified (own-cookie only). */
  tag?: string;
}

/** Reads the identity; `mint` supplies a new random id when none is usable. */
export function resolveIdentity(
  headers: { get(name: string): string | null },
  sticky: RouteConfig["sticky"],
  mint: () => string,
): Identity {
  if (sticky.source !== "own-cookie" && sticky.name) {
    const raw = sticky.source === "header" ? headers.get(sticky.name) : readCookie(headers.get("cookie"), sticky.name);
    const value = raw?.trim();
    if (value && value.length <= MAX_APP_IDENTITY) {
      return { id: value, source: sticky.source === "header" ? "header" : "app-cookie" };
    }
  }
  const raw = readCookie(headers.get("cookie"), sticky.cookieName);
  const own = raw === undefined ? undefined : parseOwnCookie(raw);
  if (own) return own.tag === undefined ? { id: own.id, source: "own-cookie" } : { id: own.id, source: "own-cookie", tag: own.tag };
  return { id: mint(), source: "minted" };
}

/** 128 random bits as 22 base64url characters. */
export function mintIdentity(randomBytes: (n: number) => Uint8Array): string {
  return base64url(randomBytes(16));
}
