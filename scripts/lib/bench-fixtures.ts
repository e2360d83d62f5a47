// What the request-path benchmarks send, shared so `npm run bench` (over HTTP) and
// `npm run bench:handler` (in the isolate) measure the same request: edge-canary's
// config, the client's path and headers, and who carries which cookie.
import { randomBytes } from "node:crypto";
import { mintIdentity } from "../../src/core/identity.js";

/** The path every request asks for: the origin answers ~300 B of JSON. */
export const BENCH_PATH = "/api/items?page=2";

/** The client's headers besides the Cookie. */
export const CLIENT_HEADERS: Readonly<Record<string, string>> = { accept: "application/json", "user-agent": "edge-canary-bench" };

/** Every tenth request has no cookie (a first visit): edge-canary and the peer mint and send Set-Cookie. */
export const FIRST_VISIT_EVERY = 10;

/** One catch-all route at weight 50 with the variant headers on; stable and canary may be the same origin. */
export function benchConfigDocument(stableOrigin: string, canaryOrigin: string): string {
  return JSON.stringify({
    version: 1,
    routes: [{ id: "bench", stable: { origin: stableOrigin }, canary: { origin: canaryOrigin }, release: "v2.0.0-bench", weight: 50, exposeHeaders: true }],
  });
}

/** n ids as edge-canary mints them (without IDENTITY_SECRET it accepts only that exact shape). */
export function identityPool(n: number): string[] {
  return Array.from({ length: n }, () => mintIdentity((k) => new Uint8Array(randomBytes(k))));
}

/**
 * The Cookie of the i-th request: edge-canary's id and the peer's group side by side
 * (every Worker gets the same requests), next to an app cookie; none on a first visit.
 */
export function clientCookie(ids: readonly string[], i: number): string | undefined {
  if (i % FIRST_VISIT_EVERY === 0) return undefined;
  return `canary_id=${ids[i % ids.length]!}; ab_group=${i % 2 === 0 ? "a" : "b"}; app_session=abc`;
}
