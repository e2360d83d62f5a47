// Who is this user, for cohort purposes? The configured source (the app's own cookie
// or header) wins; otherwise our own cookie; otherwise a fresh random id that the edge
// sets as a cookie. Our own cookie must look like one we minted: anything else is
// treated as absent and replaced, so a garbage or oversized cookie cannot reach the hash.
import { base64url } from "./base64url.js";
import { readCookie } from "./cookies.js";
import type { RouteConfig } from "./config/schema.js";

export const MAX_APP_IDENTITY = 256;
const MINTED = /^[A-Za-z0-9_-]{16,64}$/;

export type IdentitySource = "app-cookie" | "header" | "own-cookie" | "minted";

export interface Identity {
  id: string;
  source: IdentitySource;
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
  const own = readCookie(headers.get("cookie"), sticky.cookieName);
  if (own !== undefined && MINTED.test(own)) return { id: own, source: "own-cookie" };
  return { id: mint(), source: "minted" };
}

/** 128 random bits as 22 base64url characters. */
export function mintIdentity(randomBytes: (n: number) => Uint8Array): string {
  return base64url(randomBytes(16));
}
