// Builds the request edge-canary sends to an origin. The target host comes only from
// config: the client controls path, query, method and body, never the host. Hop-by-hop
// headers and any client-sent x-canary-* header are dropped, so a client cannot spoof
// what the origin is told about variant and release. Headers are built in one pass
// (copy-then-delete measured ~2x the cost on the hot path). Passing fetch() a list of
// pairs instead was tried: workerd's conversion of the pair arrays cost more in a CPU
// profile under load than the appends it saves.
import type { OriginConfig, Variant } from "../core/config/schema.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection", "x-forwarded-host", "x-forwarded-proto"]);

/** Origin URL for a request URL: origin base (with its optional path prefix) + path + query. */
export function originUrl(origin: string, url: URL): string {
  // `origin` is validated as an absolute http(s) URL without query or fragment, so
  // string work is enough: no URL parse per request.
  const base = origin.endsWith("/") ? origin.slice(0, -1) : origin;
  return `${base}${url.pathname}${url.search}`;
}

export function originHeaders(request: Request, url: URL, variant: Variant, release: string, stripHeader: string): Headers {
  const connection = request.headers.get("connection");
  const listed = connection ? new Set(connection.toLowerCase().split(",").map((h) => h.trim())) : undefined;
  const strip = stripHeader.toLowerCase();
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (HOP_BY_HOP.has(name) || name === strip || name.startsWith("x-canary-") || listed?.has(name)) continue;
    headers.append(name, value);
  }
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol === "https:" ? "https" : "http");
  const client = request.headers.get("cf-connecting-ip");
  if (client) headers.set("x-forwarded-for", client);
  headers.set("x-canary-variant", variant);
  headers.set("x-canary-release", release);
  return headers;
}

/** What fetch() is called with: one Request is built inside fetch, not two. */
export interface OriginRequest {
  url: string;
  init: RequestInit;
}

export function buildOriginRequest(
  request: Request,
  url: URL,
  origin: OriginConfig,
  variant: Variant,
  release: string,
  stripHeader: string,
): OriginRequest {
  return {
    url: originUrl(origin.origin, url),
    init: {
      method: request.method,
      headers: originHeaders(request, url, variant, release, stripHeader),
      body: request.body,
      redirect: "manual",
    },
  };
}
