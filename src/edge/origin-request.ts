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

/** `headers` is request.headers, read once by the caller. */
export function originHeaders(headers: Headers, url: URL, variant: Variant, release: string, stripHeader: string): Headers {
  const strip = stripHeader.toLowerCase();
  const out = new Headers();
  let connection: string | undefined;
  let client: string | undefined;
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name)) {
      if (name === "connection") connection = value;
      continue;
    }
    if (name === strip || name.startsWith("x-canary-")) continue;
    if (name === "cf-connecting-ip") client = value;
    out.append(name, value);
  }
  // Headers the client listed in Connection are hop-by-hop too (RFC 9110 7.6.1): rare.
  if (connection) for (const listed of connection.toLowerCase().split(",")) out.delete(listed.trim());
  // Behind Cloudflare the client address is known; a client-sent chain is replaced.
  if (client) out.set("x-forwarded-for", client);
  out.set("x-forwarded-host", url.host);
  out.set("x-forwarded-proto", url.protocol === "https:" ? "https" : "http");
  out.set("x-canary-variant", variant);
  out.set("x-canary-release", release);
  return out;
}

/** What fetch() is called with: one Request is built inside fetch, not two. */
export interface OriginRequest {
  url: string;
  init: RequestInit;
}

export function buildOriginRequest(
  request: Request,
  headers: Headers,
  method: string,
  url: URL,
  origin: OriginConfig,
  variant: Variant,
  release: string,
  stripHeader: string,
): OriginRequest {
  return {
    url: originUrl(origin.origin, url),
    init: {
      method,
      headers: originHeaders(headers, url, variant, release, stripHeader),
      body: request.body,
      redirect: "manual",
    },
  };
}
