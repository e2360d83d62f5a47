// Builds the request edge-canary sends to an origin. The target host comes only from
// config: the client controls path, query, method and body, never the host. Hop-by-hop
// headers and any client-sent x-canary-* header are dropped, so a client cannot spoof
// what the origin is told about variant and release. Built for workerd's costs: every
// Headers object is a C++ map of heap strings, so the client's headers are copied once,
// by the Request constructor, and edited in place. A fresh Headers filled by append
// would be copied again by fetch, and a list of pairs costs workerd more to convert
// than the appends it saves.
import type { OriginConfig, Variant } from "../core/config/schema.js";
import { withoutCookie } from "../core/cookies.js";
import type { RequestTarget } from "./request-target.js";

// x-forwarded-host/-proto and forwarded are set by us below: a client's copy is dropped.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection", "x-forwarded-host", "x-forwarded-proto", "forwarded"]);

/** Our CDN-Loop (RFC 8586) cdn-id: appended to every origin request, refused on the way in. */
export const CDN_LOOP_ID = "edge-canary";

/** Does a CDN-Loop header value already name us? (`id` or `id; params`, comma-separated.) */
export function hasOurLoopToken(value: string): boolean {
  for (let at = value.indexOf(CDN_LOOP_ID); at >= 0; at = value.indexOf(CDN_LOOP_ID, at + 1)) {
    let i = at - 1;
    while (i >= 0 && (value[i] === " " || value[i] === "\t")) i--;
    if (i >= 0 && value[i] !== ",") continue;
    let j = at + CDN_LOOP_ID.length;
    while (j < value.length && (value[j] === " " || value[j] === "\t")) j++;
    if (j === value.length || value[j] === "," || value[j] === ";") return true;
  }
  return false;
}

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
 * hop-by-hop headers (and those Connection lists), the override header and cookie and
 * any client-sent x-canary-*, then sets the forwarding, variant and CDN-Loop headers. One forEach
 * pass finds what to drop, so the common request (nothing to drop) only pays the sets.
 * `Upgrade: websocket` is the one hop-by-hop header kept: it is how a Worker asks
 * fetch() for a WebSocket to the origin (the runtime writes the handshake itself).
 */
export function sanitizeOriginHeaders(headers: Headers, url: RequestTarget, variant: Variant, release: string, stripHeader: string, stripCookie?: string): void {
  const strip = stripHeader.toLowerCase();
  let drop: string[] | undefined;
  let client: string | undefined;
  let cookie: string | undefined;
  let loop: string | undefined;
  let websocket = false;
  headers.forEach((value, name) => {
    if (name === "cookie") cookie = value;
    else if (name === "cdn-loop") loop = value;
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
  const proto = url.protocol === "https:" ? "https" : "http";
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", proto);
  // RFC 7239, the same facts as the x-forwarded-* headers (a client's copy was dropped).
  headers.set("forwarded", `${client ? `for=${forwardedNode(client)};` : ""}host="${url.host}";proto=${proto}`);
  // The QA override cookie is ours, like the override header: the origin never sees it.
  if (stripCookie && cookie !== undefined && cookie.includes(stripCookie)) {
    const rest = withoutCookie(cookie, stripCookie);
    if (rest === "") headers.delete("cookie");
    else if (rest !== cookie) headers.set("cookie", rest);
  }
  headers.set("cdn-loop", loop ? `${loop}, ${CDN_LOOP_ID}` : CDN_LOOP_ID);
  headers.set("x-canary-variant", variant);
  headers.set("x-canary-release", release);
}

/** A `for=` node: IPv6 addresses are quoted and bracketed (RFC 7239 section 6). */
const forwardedNode = (ip: string): string => (ip.includes(":") ? `"[${ip}]"` : ip);

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
  body: ReadableStream<Uint8Array> | ArrayBuffer | null = request.body,
  stripCookie?: string,
): Request {
  const out = new Request(originUrl(origin.origin, url), { method, headers: request.headers, body, redirect: "manual", signal });
  sanitizeOriginHeaders(out.headers, url, variant, release, stripHeader, stripCookie);
  return out;
}
