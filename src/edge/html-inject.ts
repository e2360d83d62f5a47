// Inserts the metrics script into a route's HTML responses (route.metricSources.inject):
// `<script src="<base>/m.<hash>.js" defer data-...>` at the end of <head>, or before
// </body> when the document has no head tag, streamed through HTMLRewriter (nothing is
// buffered); when those end tags are left out (HTML allows it), at the document's end.
// A document with neither (an HTML fragment, e.g. a partial fetched by the
// page) is left alone, and so are non-HTML, HEAD and bodiless (204, 304) responses.
//
// CSP: a page under a strict script-src runs our script only if the policy allows it.
// When a script tag in the page's <head> carries a nonce (or, failing that, the
// response's Content-Security-Policy header names one), ours gets the same nonce, which
// is what a nonce-based policy needs. Otherwise the operator allows the script's path
// (`script-src 'self'` covers it: it is served from the page's own origin) or pins it by
// its hash: the tag carries integrity="sha256-..." (METRICS_SCRIPT_SHA256), which a CSP3
// hash source matches for an external script.
import type { RouteConfig } from "../core/config/schema.js";
import { beaconPath } from "./beacon-path.js";
import { metricsScriptPath } from "./metrics-script.js";
import { METRICS_SCRIPT_SHA256 } from "./metrics-script.generated.js";

const escapeAttr = (v: string): string => v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** The script tag for a route, with its nonce when the page has one. */
export function metricsScriptTag(route: RouteConfig, base: string, nonce: string | undefined): string {
  const s = route.metricSources;
  const names = route.metrics.map((m) => m.name).join(" ");
  return (
    `<script src="${escapeAttr(metricsScriptPath(base))}" defer integrity="sha256-${METRICS_SCRIPT_SHA256}" data-beacon="${escapeAttr(beaconPath(base))}"` +
    ` data-vitals="${s.webVitals ? 1 : 0}" data-errors="${s.errors ? 1 : 0}" data-metrics="${escapeAttr(names)}"` +
    `${nonce === undefined ? "" : ` nonce="${escapeAttr(nonce)}"`}></script>`
  );
}

/** The first 'nonce-...' source of a CSP header's script-src (or default-src). */
export function cspNonce(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const directive of header.split(";")) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name !== "script-src" && name !== "script-src-elem" && name !== "default-src") continue;
    for (const src of sources) {
      const m = /^'nonce-([A-Za-z0-9+/_=-]+)'$/.exec(src);
      if (m) return m[1];
    }
  }
  return undefined;
}

function isHtml(contentType: string | null): boolean {
  if (contentType === null) return false;
  return contentType.split(";")[0]!.trim().toLowerCase() === "text/html";
}

/** The response with the metrics script inserted when the route injects and it is an HTML document; else the response itself. */
export function injectMetricsScript(response: Response, route: RouteConfig, method: string, base: string): Response {
  if (!route.metricSources.inject || method === "HEAD" || response.body === null) return response;
  const status = response.status;
  if (status === 204 || status === 304 || status === 101 || status < 200) return response;
  if (!isHtml(response.headers.get("content-type"))) return response;
  let nonce: string | undefined;
  let sawHead = false;
  let sawBody = false;
  let done = false;
  const headerNonce = cspNonce(response.headers.get("content-security-policy"));
  const tag = (): string | undefined => {
    if (done) return undefined;
    done = true;
    return metricsScriptTag(route, base, nonce ?? headerNonce);
  };
  const beforeEnd = (end: EndTag): void => {
    const t = tag();
    if (t !== undefined) end.before(t, { html: true });
  };
  const out = new HTMLRewriter()
    .on("head", {
      element(el) {
        if (sawHead) return;
        sawHead = true;
        el.onEndTag(beforeEnd);
      },
    })
    .on("head script[nonce]", {
      element(el) {
        nonce ??= el.getAttribute("nonce") ?? undefined;
      },
    })
    .on("body", {
      element(el) {
        sawBody = true;
        el.onEndTag(beforeEnd);
      },
    })
    // </head> and </body> may be left out (HTML allows it): then at the document's end.
    .onDocument({
      end(end) {
        if (!sawHead && !sawBody) return;
        const t = tag();
        if (t !== undefined) end.append(t, { html: true });
      },
    })
    .transform(response);
  // The origin's Content-Length no longer holds (the runtime keeps it): the body is streamed without one.
  if (!out.headers.has("content-length")) return out;
  const streamed = new Response(out.body, out);
  streamed.headers.delete("content-length");
  return streamed;
}
