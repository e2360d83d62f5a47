// Cookie header parsing for untrusted input: bounded work, first occurrence wins (as
// browsers send the most specific cookie first), malformed pairs are skipped rather
// than failing the request.
export const MAX_COOKIE_HEADER = 16 * 1024;
export const MAX_COOKIE_VALUE = 4096;

/** Value of cookie `name`, or undefined when absent, malformed or oversized. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header || header.length > MAX_COOKIE_HEADER) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value === "" || value.length > MAX_COOKIE_VALUE) return undefined;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/** A Set-Cookie value for the identity cookie: Secure, HttpOnly, SameSite=Lax, Path=/. */
export function serializeCookie(name: string, value: string, maxAgeSec: number): string {
  return `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${maxAgeSec}; Secure; HttpOnly; SameSite=Lax`;
}
