// What a segment predicate can read of a request, as strings, behind getters: the
// request path builds one per request only on a route whose exposure has rings (or a
// country filter), and a predicate reads only the header, cookie or cf field it names.
// The sources a request cannot carry (Worker secrets, KV identity lists) come apart, in
// SegmentSources, so this core never touches a binding.
import type { CF_FIELDS } from "../config/schema.js";
import { readCookie } from "../cookies.js";

export type CfField = (typeof CF_FIELDS)[number];

export interface RequestFacts {
  /** The request's host, lower case, without a port. */
  readonly host: string;
  /** The request's path, as the route matcher reads it. */
  readonly path: string;
  /** A request header, or null. */
  header(name: string): string | null;
  /** A cookie's value (cookies.ts readCookie), or undefined. */
  cookie(name: string): string | undefined;
  /** A request.cf field as a string (cfValue), or undefined. */
  cf(field: CfField): string | undefined;
  /** The request's cohort identity (sticky). */
  readonly identity: string;
  /** Now, seconds since the epoch: JWT exp and nbf are judged against it. */
  readonly nowSec: number;
}

/** What a predicate may need beyond the request; every answer absent means "never matches". */
export interface SegmentSources {
  /** A Worker secret (a JWT key) by name, or undefined. */
  secret(name: string): string | undefined;
  /** The identity list under a KV key: undefined while missing or unreadable, a promise while it loads. */
  identityList(key: string): ReadonlySet<string> | undefined | Promise<ReadonlySet<string> | undefined>;
}

/**
 * A request.cf field as a segment compares it: strings as they are, asn as its decimal
 * string, isEUCountry as "1" when the country is in the EU (Cloudflare sends "1" or
 * nothing; a boolean true is read the same), anything else absent.
 */
export function cfValue(cf: Readonly<Record<string, unknown>> | undefined, field: CfField): string | undefined {
  const v = cf?.[field];
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (field === "isEUCountry" && v === true) return "1";
  return undefined;
}

/** What requestFacts reads headers through (the edge's RequestHeaders, a Headers). */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * Facts over a request's parts; every field is read when a predicate asks, and the
 * Cookie header is read once (the HeaderReader may cache it too).
 */
export function requestFacts(parts: {
  host: string;
  path: string;
  headers: HeaderReader;
  cf: Readonly<Record<string, unknown>> | undefined;
  identity: string;
  nowSec: number;
}): RequestFacts {
  const { headers, cf } = parts;
  let cookies: string | null | undefined;
  return {
    host: parts.host,
    path: parts.path,
    identity: parts.identity,
    nowSec: parts.nowSec,
    header: (name) => headers.get(name),
    cookie: (name) => readCookie((cookies ??= headers.get("cookie")), name),
    cf: (field) => cfValue(cf, field),
  };
}
