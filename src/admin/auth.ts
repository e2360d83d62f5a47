// Bearer-token check for the admin API and dashboard. Both sides are hashed first so
// the comparison is over equal-length buffers, then compared in constant time.
import { StatusError } from "itty-router";

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

export async function tokenMatches(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The token a request carries: `Authorization: Bearer <t>`, else the dashboard cookie. */
export function presentedToken(request: Request): string | undefined {
  const auth = request.headers.get("authorization");
  const m = auth?.match(/^Bearer\s+(.+)$/i);
  if (m) return m[1]!.trim();
  const cookie = request.headers.get("cookie") ?? "";
  const c = cookie.split(";").map((p) => p.trim()).find((p) => p.startsWith(`${ADMIN_COOKIE}=`));
  return c ? decodeURIComponent(c.slice(ADMIN_COOKIE.length + 1)) : undefined;
}

export const ADMIN_COOKIE = "canary_admin";

/** Throws 401 unless the request carries the ADMIN_TOKEN secret. */
export async function requireToken(request: Request, env: Env): Promise<void> {
  if (!env.ADMIN_TOKEN) throw new StatusError(401, "admin API disabled: set the ADMIN_TOKEN secret");
  const token = presentedToken(request);
  if (!token) throw new StatusError(401, "missing bearer token");
  if (!(await tokenMatches(token, env.ADMIN_TOKEN))) throw new StatusError(401, "wrong token");
}
