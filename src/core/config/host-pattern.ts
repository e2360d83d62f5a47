// Route hosts, normalised to what a request's Host arrives as, so a listed host can
// match: the URL parser's form (lower case, Unicode as punycode, as workerd gives
// url.host) and no port (the edge strips the request's port before matching). A
// leading "*." label is a wildcard for any subdomain at any depth, not the apex.

export type HostCheck = { ok: true; value: string } | { ok: false; error: string };

/** Checks one `match.hosts` entry; `value` is the form route-match compares with. */
export function checkHostPattern(raw: string): HostCheck {
  const text = raw.trim().toLowerCase();
  const wildcard = text.startsWith("*.");
  const name = wildcard ? text.slice(2) : text;
  if (name.includes("*")) return { ok: false, error: "may use * only as the whole first label, as in *.example.com" };
  if (/[/?#@\\\s]/.test(name)) return { ok: false, error: "must be a hostname like shop.example.com, without scheme, path or credentials" };
  const bracketed = /^\[[0-9a-f:.]+\]/.exec(name);
  const rest = bracketed ? name.slice(bracketed[0].length) : name;
  if (rest.includes(":")) return { ok: false, error: "must not include a port: requests are matched on the host without its port" };
  if (wildcard && bracketed) return { ok: false, error: "may use * only before a hostname, not an IP address" };
  let hostname: string;
  try {
    hostname = new URL(`http://${name}`).hostname;
  } catch {
    return { ok: false, error: "must be a valid hostname" };
  }
  if (hostname === "") return { ok: false, error: "must be a valid hostname" };
  return { ok: true, value: wildcard ? `*.${hostname}` : hostname };
}

/** Whether a request host (lower case, no port) matches a normalised pattern. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern.charCodeAt(0) !== 42 /* "*" */) return pattern === host;
  // "*.example.com" keeps its dot: "a.example.com" matches, "example.com" and
  // "badexample.com" do not.
  return host.length > pattern.length - 1 && host.endsWith(pattern.slice(1));
}
