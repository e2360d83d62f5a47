// Auth for the admin API and dashboard: the ADMIN_TOKEN bearer token (scripts, CLI), or
// the dashboard's session cookie (an expiring HMAC of the token, see dashboard.ts).
// Tokens are compared in constant time (token-match.ts). Cookie-authenticated state
// changes must carry the custom header ADMIN_CSRF_HEADER, which a cross-site page cannot
// send without a CORS preflight.
import { StatusError } from "itty-router";
import { ADMIN_CSRF_HEADER, SESSION_COOKIE, sessionCookie, sessionMatches } from "./dashboard.js";
import { tokenMatches } from "./token-match.js";

/** The token of `Authorization: Bearer <t>`, if any. */
export function bearerToken(request: Request): string | undefined {
  const m = request.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i);
  return m ? m[1]!.trim() : undefined;
}

export const ADMIN_COOKIE = SESSION_COOKIE;

/**
 * Throws 401 unless the request carries the ADMIN_TOKEN bearer token or a valid
 * dashboard session cookie; 403 for a cookie-authenticated state change without
 * `x-canary-admin: 1`.
 */
export async function requireToken(request: Request, env: Env, now: number, backoff?: { failed(): void; succeeded(): void }): Promise<void> {
  if (!env.ADMIN_TOKEN) throw new StatusError(401, "admin API disabled: set the ADMIN_TOKEN secret");
  const bearer = bearerToken(request);
  if (bearer !== undefined) {
    // Only a presented, wrong token is a guess (auth-backoff.ts); a session cookie's HMAC is not guessable.
    if (!(await tokenMatches(bearer, env.ADMIN_TOKEN))) {
      backoff?.failed();
      throw new StatusError(401, "wrong token");
    }
    backoff?.succeeded();
    return;
  }
  const session = sessionCookie(request);
  if (session === undefined) throw new StatusError(401, "missing bearer token");
  if (!(await sessionMatches(session, env.ADMIN_TOKEN, now))) {
    throw new StatusError(401, "dashboard session invalid or expired (wrong token): log in again with ?token=");
  }
  if (request.method !== "GET" && request.method !== "HEAD" && request.headers.get(ADMIN_CSRF_HEADER) !== "1") {
    throw new StatusError(403, `cookie-authenticated requests that change state must send the header ${ADMIN_CSRF_HEADER}: 1`);
  }
}
