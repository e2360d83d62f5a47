// The dashboard's request handling at `<base>` and `<base>/`. A browser cannot send a
// bearer header on navigation, so `?token=<ADMIN_TOKEN>` is traded once for an HttpOnly
// session cookie and a redirect that drops the token from the address bar. The cookie
// holds `<expiry>.<HMAC-SHA256(key ADMIN_TOKEN, "edge-canary-dashboard:v1:<expiry>")>`,
// never the token: a leaked cookie expires, and rotating ADMIN_TOKEN revokes every
// session. auth.ts checks it with `sessionMatches` (this file imports nothing from
// auth.ts, so the dependency stays one-way). Cookie-authenticated state changes must also
// carry `ADMIN_CSRF_HEADER: 1`, which a cross-site form cannot send; SameSite=Strict is
// the first line, the header the second. Given up: a login link clicked on another site
// lands on the 401 page (Strict cookies are not sent on that redirect); a reload fixes it.
import { ADMIN_API_PATH, COMMAND_PHASES, EVENTS_LIMIT, type DashboardSettings } from "../core/admin-protocol.js";
import { base64url } from "../core/base64url.js";
import { readCookie } from "../core/cookies.js";
import { WINDOW_MS } from "../coordinator/store.js";
import { dashboardPage, loginPage } from "./dashboard-page.js";
import { tokenMatches } from "./token-match.js";

/** Name of the dashboard session cookie. */
export const SESSION_COOKIE = "canary_admin";
/** Header the dashboard sends on every API call; required on cookie-authenticated POSTs. */
export const ADMIN_CSRF_HEADER = "x-canary-admin";
/** Session lifetime, in seconds. Default 8 hours. */
export const SESSION_MAX_AGE_SEC = 8 * 60 * 60;
/** How often the dashboard polls status and events, in ms. */
export const DASHBOARD_POLL_MS = 1500;

/** The constants the dashboard's script runs on, for the admin base `base`. */
export const dashboardSettings = (base: string): DashboardSettings => ({
  base,
  apiPath: ADMIN_API_PATH,
  csrfHeader: ADMIN_CSRF_HEADER,
  pollMs: DASHBOARD_POLL_MS,
  windowMs: WINDOW_MS,
  eventsLimit: EVENTS_LIMIT.default,
  actions: [
    ["pause", "Pause"],
    ["resume", "Resume"],
    ["promote", "Promote"],
    ["rollback", "Roll back"],
  ],
  commandPhases: COMMAND_PHASES,
});

const encoder = new TextEncoder();

async function signature(token: string, expiresAt: number): Promise<ArrayBuffer> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(token), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", key, encoder.encode(`edge-canary-dashboard:v1:${expiresAt}`));
}

/** The cookie value for a session of `token` that expires at `expiresAt` (ms epoch). */
export async function sessionValue(token: string, expiresAt: number): Promise<string> {
  return `${expiresAt}.${base64url(await signature(token, expiresAt))}`;
}

/** True when `value` is an unexpired session cookie minted with `token`; constant-time. */
export async function sessionMatches(value: string, token: string, now: number): Promise<boolean> {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m || token === "") return false;
  const expiresAt = Number(m[1]);
  if (expiresAt <= now) return false;
  const expected = encoder.encode(base64url(await signature(token, expiresAt)));
  const given = encoder.encode(m[2]!);
  return crypto.subtle.timingSafeEqual(expected, given);
}

/** The session cookie's value, if any (parsed by the same bounded parser as the edge). */
export const sessionCookie = (request: Request): string | undefined => readCookie(request.headers.get("cookie"), SESSION_COOKIE);

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

function html(status: number, body: string, nonce: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/html; charset=utf-8",
      "content-security-policy":
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      ...extra,
    },
  });
}

/** Serves the dashboard (GET/HEAD `<base>` and `<base>/`) or a 401 login page. */
export async function serveDashboard(
  request: Request,
  env: Env,
  base: string,
  now: () => number,
  randomBytes: (n: number) => Uint8Array,
  backoff?: { failed(): void; succeeded(): void },
): Promise<Response> {
  const nonce = base64url(randomBytes(16));
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed", { status: 405, headers: { ...SECURITY_HEADERS, allow: "GET, HEAD" } });
  }
  const expected = env.ADMIN_TOKEN;
  if (!expected) return html(401, loginPage(base, "The dashboard is disabled: set the ADMIN_TOKEN secret.", nonce), nonce);

  const url = new URL(request.url);
  const token = url.searchParams.get("token");
  if (token !== null) {
    if (!(await tokenMatches(token, expected))) {
      backoff?.failed();
      return html(401, loginPage(base, "Wrong token.", nonce), nonce);
    }
    backoff?.succeeded();
    const expiresAt = now() + SESSION_MAX_AGE_SEC * 1000;
    const cookie =
      `${SESSION_COOKIE}=${await sessionValue(expected, expiresAt)}; Path=${base}; Max-Age=${SESSION_MAX_AGE_SEC}; ` +
      "HttpOnly; Secure; SameSite=Strict";
    return new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, location: `${base}/`, "set-cookie": cookie } });
  }

  const session = sessionCookie(request);
  if (session !== undefined && (await sessionMatches(session, expected, now()))) {
    const res = html(200, dashboardPage(dashboardSettings(base), nonce), nonce);
    return request.method === "HEAD" ? new Response(null, res) : res;
  }
  const why = session === undefined ? "Not logged in." : "Your session expired or the token was rotated.";
  return html(401, loginPage(base, why, nonce), nonce);
}
