// Route path prefixes, checked against the form request paths arrive in: the URL
// parser has resolved "." and ".." segments and percent-encoded what needs it, and
// the path carries no query or fragment. A prefix that could never equal such a path
// is rejected; one that differs only in encoding is normalised.

export type PathPrefixCheck = { ok: true; value: string } | { ok: false; error: string };

/** Checks one `match.pathPrefix` (already known to start with "/"); `value` is the stored form. */
export function checkPathPrefix(raw: string): PathPrefixCheck {
  if (/[?#]/.test(raw)) return { ok: false, error: "must not contain ? or #: a prefix matches the path only" };
  const segments = raw.split("/").slice(1);
  if (segments.some((s) => /^(?:\.|%2e){1,2}$/i.test(s))) {
    return { ok: false, error: 'must not contain "." or ".." segments: request paths arrive with them resolved' };
  }
  // Appended, not resolved against a base: "//x" would otherwise read as a host.
  const value = new URL(`http://prefix.invalid${raw}`).pathname;
  if (value.includes("//")) return { ok: false, error: 'must not contain an empty segment ("//")' };
  return { ok: true, value };
}
