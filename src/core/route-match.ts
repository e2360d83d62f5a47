// Which route serves a request: first route whose hosts include the host (or that
// lists no hosts) and whose path prefix matches on a segment boundary, so "/app"
// matches "/app" and "/app/x" but not "/apple".
import type { Config, RouteConfig } from "./config/schema.js";

export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith("/") || path.charAt(prefix.length) === "/";
}

export function matchRoute(config: Config, host: string, path: string): RouteConfig | undefined {
  const h = host.toLowerCase().replace(/:\d+$/, "");
  return config.routes.find(
    (r) => (r.match.hosts.length === 0 || r.match.hosts.includes(h)) && pathMatches(r.match.pathPrefix, path),
  );
}
