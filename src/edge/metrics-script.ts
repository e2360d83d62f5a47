// Serves the injected metrics script at <ADMIN_BASE_PATH>/m.<hash>.js: the hash is of its
// content, so the URL changes with the script and the file may be cached for a year.
import { METRICS_SCRIPT, METRICS_SCRIPT_HASH } from "./metrics-script.generated.js";

export const metricsScriptPath = (adminBase: string): string => `${adminBase}/m.${METRICS_SCRIPT_HASH}.js`;

export function serveMetricsScript(request: Request): Response {
  const headers = {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": "public, max-age=31536000, immutable",
    "x-content-type-options": "nosniff",
  };
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(null, { status: 405, headers: { allow: "GET, HEAD", "cache-control": "no-store" } });
  }
  return new Response(request.method === "HEAD" ? null : METRICS_SCRIPT, { headers });
}
