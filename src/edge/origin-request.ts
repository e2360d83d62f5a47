// Builds the request edge-canary sends to an origin. The target host comes only from
// config: the client controls path, query, method and body, never the host. Hop-by-hop
// headers and any client-sent x-canary-* header are stripped, so a client cannot spoof
// what the origin is told about variant and release.
import type { OriginConfig, Variant } from "../core/config/schema.js";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"];

/** Origin URL for a request URL: origin base (with its optional path prefix) + path + query. */
export function originUrl(origin: string, url: URL): string {
  const base = new URL(origin);
  const prefix = base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname;
  return `${base.protocol}//${base.host}${prefix}${url.pathname}${url.search}`;
}

export function originHeaders(request: Request, url: URL, variant: Variant, release: string, stripHeader: string): Headers {
  const headers = new Headers(request.headers);
  const listed = (headers.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...listed]) headers.delete(name);
  for (const name of [...headers.keys()]) if (name.startsWith("x-canary-")) headers.delete(name);
  headers.delete(stripHeader);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
  const client = request.headers.get("cf-connecting-ip");
  if (client) headers.set("x-forwarded-for", client);
  headers.set("x-canary-variant", variant);
  headers.set("x-canary-release", release);
  return headers;
}

export function buildOriginRequest(
  request: Request,
  url: URL,
  origin: OriginConfig,
  variant: Variant,
  release: string,
  stripHeader: string,
): Request {
  return new Request(originUrl(origin.origin, url), {
    method: request.method,
    headers: originHeaders(request, url, variant, release, stripHeader),
    body: request.body,
    redirect: "manual",
  });
}
