// Cookie header reading for untrusted input. The header is scanned for one name, never
// split into pairs: work is linear in the header and allocates only the value found,
// so a large Cookie header (any size the runtime accepts; browsers send up to ~180
// cookies of 4 KB) still yields our cookie. First occurrence wins (browsers send the
// most specific cookie first); malformed pairs are skipped, not fatal.
export const MAX_COOKIE_VALUE = 4096;

const SPACE = 32;
const TAB = 9;
const SEMI = 59;
const EQ = 61;

const isBlank = (c: number): boolean => c === SPACE || c === TAB;

/** Where the pair `name=...` starts its value in `header`, or -1: `name` must open a pair. */
function valueStart(header: string, name: string, at: number): number {
  let i = at - 1;
  while (i >= 0 && isBlank(header.charCodeAt(i))) i--;
  if (i >= 0 && header.charCodeAt(i) !== SEMI) return -1;
  let j = at + name.length;
  while (j < header.length && isBlank(header.charCodeAt(j))) j++;
  return header.charCodeAt(j) === EQ ? j + 1 : -1;
}

/** Start and end (exclusive) of the first `name=value` pair, or undefined. */
export function findCookie(header: string, name: string): { start: number; valueStart: number; end: number } | undefined {
  if (name === "") return undefined;
  for (let from = 0; ; ) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    const v = valueStart(header, name, at);
    if (v >= 0) {
      const semi = header.indexOf(";", v);
      return { start: at, valueStart: v, end: semi < 0 ? header.length : semi };
    }
    from = at + 1;
  }
}

/** Value of cookie `name`, or undefined when absent, empty or oversized. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  const pair = findCookie(header, name);
  if (!pair || pair.end - pair.valueStart > MAX_COOKIE_VALUE + 64) return undefined;
  let value = header.slice(pair.valueStart, pair.end).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  if (value === "" || value.length > MAX_COOKIE_VALUE) return undefined;
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The Cookie header without any `name=...` pair, or the header itself when it has none. */
export function withoutCookie(header: string, name: string): string {
  let out = header;
  // Bounded: a header with more duplicates than this keeps the rest (the origin then
  // sees a token it cannot verify anyway).
  for (let n = 0, pair = findCookie(out, name); pair && n < 64; n++, pair = findCookie(out, name)) {
    let h = pair.start;
    while (h > 0 && (isBlank(out.charCodeAt(h - 1)) || out.charCodeAt(h - 1) === SEMI)) h--;
    let t = pair.end + 1;
    while (t < out.length && isBlank(out.charCodeAt(t))) t++;
    const head = out.slice(0, h);
    const tail = out.slice(t);
    out = head === "" ? tail : tail === "" ? head : `${head}; ${tail}`;
  }
  return out;
}

export interface CookieAttributes {
  maxAgeSec: number;
  /** Add `Secure` (browsers then store the cookie only from https pages and localhost). */
  secure: boolean;
  /** `Domain=` so subdomains share the cookie; host-only when absent. */
  domain?: string;
}

/** A Set-Cookie value for the identity cookie: Path=/, HttpOnly, SameSite=Lax, plus `attrs`. */
export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  return `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${attrs.maxAgeSec}${attrs.domain ? `; Domain=${attrs.domain}` : ""}${attrs.secure ? "; Secure" : ""}; HttpOnly; SameSite=Lax`;
}
