// "Is the Worker serving the new config yet?" answered by observation, not by sleeping.
// For a weight change the probe is an identity whose bucket lies between the old and
// the new weight: the only users that change cohort. The Worker's own bucket function
// (src/core/bucket.ts) finds one, and the probe sends it as its `canary_id` cookie
// until the response shows the new cohort a few times in a row. A new release shows in
// `x-canary-release` at once but serves 0% until the route's coordinator has confirmed
// it (src/core/rollout/effective-weight.ts), so a probe in buckets [0, first weight) of
// the new release must turn canary too: that is the moment users see the new split.
import { randomBytes } from "node:crypto";
import { BUCKETS, bucketOf, releaseSalt, variantFor } from "../../src/core/bucket.js";
import type { RouteConfig, Variant } from "../../src/core/config/schema.js";
import { mintIdentity } from "../../src/core/identity.js";
import { liveWeight, planOf } from "../../src/core/rollout/plan.js";

/**
 * A minted identity (the Worker accepts only its exact shape without IDENTITY_SECRET,
 * which the demo does not set) whose bucket is in [lo, hi).
 */
export function identityInBuckets(routeId: string, release: string, lo: number, hi: number): string {
  const salt = releaseSalt(routeId, release);
  for (let i = 0; i < 1_000_000; i++) {
    const id = mintIdentity((n) => new Uint8Array(randomBytes(n)));
    const b = bucketOf(salt, id);
    if (b >= lo && b < hi) return id;
  }
  throw new Error(`no identity found in buckets [${lo}, ${hi})`);
}

/** The cohort the Worker must give an identity on a route: its bucket against the weight served. */
export function expectedCohort(route: RouteConfig, id: string, weight = route.weight): Variant {
  return variantFor(bucketOf(releaseSalt(route.id, route.release), id), weight);
}

/** The cohort a response belongs to: a fallback was a canary request served by stable. */
export function cohortOf(res: Response): Variant | undefined {
  const served = res.headers.get("x-canary-variant");
  if (served !== "stable" && served !== "canary") return undefined;
  return res.headers.get("x-canary-fallback") === "1" ? "canary" : served;
}

export interface Convergence {
  ms: number;
  probes: number;
  how: string;
}

/**
 * Waits until requests to workerUrl reflect `next` (compared to `prev`). Requires
 * `confirmations` matching answers in a row; falls back to waiting `refreshMs` plus a
 * margin when the change is not observable from outside (same release and weight).
 */
export async function waitForConfig(
  workerUrl: string,
  prev: RouteConfig | undefined,
  next: RouteConfig,
  opts: { refreshMs: number; timeoutMs: number; confirmations?: number; path?: string },
): Promise<Convergence> {
  const started = Date.now();
  const need = opts.confirmations ?? 3;
  let expect: (res: Response) => boolean;
  let cookie: string | undefined;
  let how: string;
  if (!prev || prev.release !== next.release) {
    const first = liveWeight(planOf(next)[0]);
    if (first > 0) {
      const id = identityInBuckets(next.id, next.release, 0, Math.min(BUCKETS, Math.round(first * 100)));
      cookie = `${next.sticky.cookieName}=${id}`;
      expect = (res) => res.headers.get("x-canary-release") === next.release && cohortOf(res) === "canary";
      how = `x-canary-release: ${next.release} and a probe user below ${first}% turned canary`;
    } else {
      expect = (res) => res.headers.get("x-canary-release") === next.release;
      how = `x-canary-release: ${next.release}`;
    }
  } else if (prev.weight !== next.weight) {
    const lo = Math.round(Math.min(prev.weight, next.weight) * 100);
    const hi = Math.round(Math.max(prev.weight, next.weight) * 100);
    const id = identityInBuckets(next.id, next.release, lo, Math.min(hi, BUCKETS));
    const want = variantFor(bucketOf(releaseSalt(next.id, next.release), id), next.weight);
    cookie = `${next.sticky.cookieName}=${id}`;
    expect = (res) => cohortOf(res) === want;
    how = `probe user in buckets [${lo}, ${hi}) turned ${want}`;
  } else {
    await new Promise((r) => setTimeout(r, opts.refreshMs + 500));
    return { ms: Date.now() - started, probes: 0, how: "waited one refresh interval" };
  }
  let streak = 0;
  let probes = 0;
  while (Date.now() - started < opts.timeoutMs) {
    probes++;
    try {
      // A path of the route (`/` for the demo route; the shadow route's probe asks its JSON API).
      const res = await fetch(`${workerUrl}${opts.path ?? "/"}`, {
        headers: cookie ? { cookie } : {},
        signal: AbortSignal.timeout(5_000),
      });
      await res.arrayBuffer();
      streak = expect(res) ? streak + 1 : 0;
      if (streak >= need) return { ms: Date.now() - started, probes, how };
    } catch {
      streak = 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the Worker did not pick up the new config within ${opts.timeoutMs} ms (${how})`);
}
