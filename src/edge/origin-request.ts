// Builds the request edge-canary sends to an origin. The target host comes only from
// config: the client controls path, query, method and body, never the host. Hop-by-hop
// headers and any client-sent x-canary-* header are dropped, so a client cannot spoof
// what the origin is told about variant and release. Built for workerd's costs
// (`npm run bench:micro`, `perf` on the bench): every Headers object is a C++ map of
// heap strings, so the client's headers are copied once, by the Request constructor,
// and edited in place; a fresh Headers filled by append and then copied again by fetch
// cost a second copy. Passing fetch() a list of pairs was tried too: workerd's
// conversion of the pair arrays cost more than the appends it saved.
import type { OriginConfig, Variant } from "../core/config/schema.js";
import type { RequestTarget } from "./request-target.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection", "x-forwarded-host", "x-forwarded-proto"]);

/** An Upgrade header asking for a WebSocket (the only upgrade a Worker can proxy). */
export const isWebSocketUpgrade = (upgrade: string | null): boolean => upgrade !== null && upgrade.trim().toLowerCase() === "websocket";

/** Origin URL for a request URL: origin base (with its optional path prefix) + path + query. */
export function originUrl(origin: string, url: RequestTarget): string {
  // `origin` is validated as an absolute http(s) URL without query or fragment, so
  // string work is enough: no URL parse per request.
  const base = origin.endsWith("/") ? origin.slice(0, -1) : origin;
  return `${base}${url.pathname}${url.search}`;
}

/**
 * Makes a copy of the client's headers fit to send to an origin, in place: drops
 * hop-by-hop headers (and those Connection lists), the override header and any
 * client-sent x-canary-*, then sets the forwarding and variant headers. One forEach
 * pass finds what to drop, so the common request (nothing to drop) only pays the sets.
 * `Upgrade: websocket` is the one hop-by-hop header kept: it is how a Worker asks
 * fetch() for a WebSocket to the origin (the runtime writes the handshake itself).
 */
export function sanitizeOriginHeaders(headers: Headers, url: RequestTarget, variant: Variant, release: string, stripHeader: string): void {
  const strip = stripHeader.toLowerCase();
  let drop: string[] | undefined;
  let client: string | undefined;
  let websocket = false;
  headers.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || name === strip || name.startsWith("x-canary-")) {
      (drop ??= []).push(name);
      // Headers the client listed in Connection are hop-by-hop too (RFC 9110 7.6.1): rare.
      if (name === "connection") for (const listed of value.toLowerCase().split(",")) drop.push(listed.trim());
      else if (name === "upgrade") websocket = isWebSocketUpgrade(value);
    } else if (name === "cf-connecting-ip") client = value;
  });
  if (drop) for (const name of drop) if (name && !(websocket && name === "upgrade")) headers.delete(name);
  // Behind Cloudflare the client address is known; a client-sent chain is replaced.
  if (client) headers.set("x-forwarded-for", client);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol === "https:" ? "https" : "http");
  headers.set("x-canary-variant", variant);
  headers.set("x-canary-release", release);
}

/**
 * The request sent to an origin. The Request constructor copies the client's headers
 * once and they are then edited in place; fetch() takes a Request without an init as
 * it is, so the headers are copied once per origin request, not twice.
 */
export function buildOriginRequest(
  request: Request,
  method: string,
  url: RequestTarget,
  origin: OriginConfig,
  variant: Variant,
  release: string,
  stripHeader: string,
  signal: AbortSignal,
  body: ReadableStream<Uint8Array> | null = request.body,
): Request {
  const out = new Request(originUrl(origin.origin, url), { method, headers: request.headers, body, redirect: "manual", signal });
  sanitizeOriginHeaders(out.headers, url, variant, release, stripHeader);
  return out;
}
