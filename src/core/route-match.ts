// Which route serves a request: first route whose hosts include the host (or that
// lists no hosts) and whose path prefix matches on a segment boundary, so "/app"
// matches "/app" and "/app/x" but not "/apple". A host "*.example.com" matches any
// subdomain of example.com at any depth, not example.com itself; config order alone
// decides between a wildcard and an exact host in a later route.
import { hostMatches } from "./config/host-pattern.js";
import type { Config, RouteConfig } from "./config/schema.js";

export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith("/") || path.charAt(prefix.length) === "/";
}

/** A Host value without its port, lower-cased ("App.example:8443" -> "app.example", "[::1]:8787" -> "[::1]"). */
export const hostWithoutPort = (host: string): string => host.toLowerCase().replace(/:\d+$/, "");

/** A loop, not `some` with a closure: this runs for every route on every request. */
function hostListed(hosts: readonly string[], host: string): boolean {
  for (const pattern of hosts) if (hostMatches(pattern, host)) return true;
  return false;
}

export function matchRoute(config: Config, host: string, path: string): RouteConfig | undefined {
  const h = hostWithoutPort(host);
  return config.routes.find(
    (r) => (r.match.hosts.length === 0 || hostListed(r.match.hosts, h)) && pathMatches(r.match.pathPrefix, path),
  );
}
