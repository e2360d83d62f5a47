// Which route serves a request: first route whose hosts include the host (or that
// lists no hosts) and whose path prefix matches on a segment boundary, so "/app"
// matches "/app" and "/app/x" but not "/apple".
import type { Config, RouteConfig } from "./config/schema.js";

export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith("/") || path.charAt(prefix.length) === "/";
}

/** A Host value without its port, lower-cased ("App.example:8443" -> "app.example", "[::1]:8787" -> "[::1]"). */
export const hostWithoutPort = (host: string): string => host.toLowerCase().replace(/:\d+$/, "");

export function matchRoute(config: Config, host: string, path: string): RouteConfig | undefined {
  const h = hostWithoutPort(host);
  return config.routes.find(
    (r) => (r.match.hosts.length === 0 || r.match.hosts.includes(h)) && pathMatches(r.match.pathPrefix, path),
  );
}
