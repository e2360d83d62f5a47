// Metric events from the origin's response header, end to end: real 127.0.0.1 origins
// answer /say/<tag> with the header the query names (canary.header=... on the canary only),
// the Worker strips it before the client, the coordinator client aggregates per user and
// the coordinator's per-user table gives status both arms' per-user means.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CoordinatorStatus } from "../../src/core/admin-protocol.js";
import { clock, config, putConfigAndSync, route, send, type RouteInput } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 30_000, coldWaitMs: 500 };
// The test origins can set one chosen header (x-said, from ?header=): the route reads its metrics from it.
const HEADER = "x-said";

function metricRoute(id: string, release: string, extra: Partial<RouteInput> = {}): RouteInput {
  return route({
    id,
    release,
    weight: 50,
    match: { hosts: [`${id}.test`] },
    sticky: { source: "header", name: "x-user-id" },
    metrics: [{ name: "checkout", kind: "conversion", better: "higher", mode: "observe" }],
    metricSources: { originHeader: HEADER },
    ...extra,
  });
}

async function put(id: string, release: string, extra: Partial<RouteInput> = {}): Promise<void> {
  await putConfigAndSync({ ...config(metricRoute(id, release, extra)), sync: SYNC });
}

/** Cuts and delivers what the isolate gathered: a sync interval on, a request of a user already seen (so no new exposure). */
async function flush(id: string, user: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    clock.advance(SYNC.intervalMs + 1);
    await send("/say/flush", { host: `${id}.test`, headers: { "x-user-id": user } });
  }
}

const status = (id: string): Promise<CoordinatorStatus> => env.COORDINATOR.get(env.COORDINATOR.idFromName(id)).status(id);

/**
 * `users` users, one request each; stable converts users with an even number, the canary
 * every fourth (fewer): the origin sends `checkout=1` by the query, the variant decides
 * which origin answers. Returns each arm's users and converters as the client saw them.
 */
type HeaderOf = (arm: "stable" | "canary", i: number) => string | undefined;
const fewerOnCanary: HeaderOf = (arm, i) => ((arm === "stable" ? i % 2 === 0 : i % 4 === 0) ? "checkout=1" : undefined);

async function traffic(id: string, users: number, prefix: string, header: HeaderOf = fewerOnCanary) {
  const seen = { stable: { users: 0, converted: 0 }, canary: { users: 0, converted: 0 } };
  const leaked: string[] = [];
  for (let i = 0; i < users; i++) {
    const q = new URLSearchParams({ body: "ok" });
    const s = header("stable", i);
    const c = header("canary", i);
    if (s !== undefined) q.set("stable.header", s);
    if (c !== undefined) q.set("canary.header", c);
    const r = await send(`/say/m?${q}`, { host: `${id}.test`, headers: { "x-user-id": `${prefix}-${i}` } });
    expect(r.response.status).toBe(200);
    const arm = r.variant === "canary" ? "canary" : "stable";
    const got = r.response.headers.get(HEADER);
    if (got !== null) leaked.push(got);
    seen[arm].users++;
    if ((arm === "canary" ? c : s) === "checkout=1") seen[arm].converted++;
  }
  return { seen, leaked };
}

describe("metrics from the origin's response header", () => {
  it("strips the header, and status shows both arms' per-user conversion after sync", async () => {
    const id = "met-origin";
    await put(id, "mo-1");
    const { seen, leaked } = await traffic(id, 60, "u");
    expect(leaked).toEqual([]);
    expect(seen.canary.users).toBeGreaterThan(10);
    expect(seen.stable.users).toBeGreaterThan(10);
    await flush(id, "u-1");
    const st = await status(id);
    const checkout = st.metrics?.find((m) => m.name === "checkout");
    expect(checkout).toBeDefined();
    expect(checkout!.canary.users).toBe(seen.canary.users);
    expect(checkout!.stable.users).toBe(seen.stable.users);
    expect(checkout!.canary.mean).toBeCloseTo(seen.canary.converted / seen.canary.users, 9);
    expect(checkout!.stable.mean).toBeCloseTo(seen.stable.converted / seen.stable.users, 9);
    // The canary converts fewer of its users.
    expect(checkout!.canary.mean!).toBeLessThan(checkout!.stable.mean!);
    expect(checkout!.relativeDifference).toBeCloseTo(checkout!.canary.mean! / checkout!.stable.mean! - 1, 9);
    expect(st.metricUsers).toEqual({ users: seen.canary.users + seen.stable.users, limit: 200_000, overflow: 0 });
  });

  it("a returning user is one user: more conversions of theirs do not raise the conversion", async () => {
    const id = "met-returning";
    await put(id, "mr-1");
    const first = await traffic(id, 20, "r", () => "checkout=1");
    await traffic(id, 20, "r", () => "checkout=1");
    await flush(id, "r-0");
    const checkout = (await status(id)).metrics!.find((m) => m.name === "checkout")!;
    expect(checkout.canary.users + checkout.stable.users).toBe(20);
    expect(checkout.canary.users).toBe(first.seen.canary.users);
    expect(checkout.canary.mean).toBe(1);
    expect(checkout.stable.mean).toBe(1);
  });

  it("a malformed header changes nothing but is stripped all the same", async () => {
    const id = "met-malformed";
    await put(id, "mm-1");
    const bad = ["checkout=abc", "checkout", "=1", "Checkout=1", "checkout=Infinity", "checkout=1e999", "revenue=5", `${"x".repeat(2000)}`];
    const { seen, leaked } = await traffic(id, 24, "m", (_, i) => bad[i % bad.length]);
    expect(leaked).toEqual([]);
    await flush(id, "m-0");
    const checkout = (await status(id)).metrics!.find((m) => m.name === "checkout")!;
    // Every user is exposed; none converted.
    expect(checkout.canary.users).toBe(seen.canary.users);
    expect(checkout.stable.users).toBe(seen.stable.users);
    expect(checkout.canary.mean ?? 0).toBe(0);
    expect(checkout.stable.mean ?? 0).toBe(0);
  });

  it("a route without metrics strips the header too, and records nothing", async () => {
    const id = "met-none";
    await put(id, "mn-1", { metrics: [] });
    const { leaked } = await traffic(id, 10, "n", () => "checkout=1");
    expect(leaked).toEqual([]);
    await flush(id, "n-0");
    const st = await status(id);
    expect(st.metrics).toBeUndefined();
    expect(st.metricUsers).toBeUndefined();
  });

  it("a route that hands responses through untouched (exposeHeaders off) still strips the header", async () => {
    const id = "met-untouched";
    await put(id, "mu-1", { exposeHeaders: false });
    const r = await send("/say/x?header=checkout%3D1&body=hi", { host: `${id}.test`, headers: { "x-user-id": "solo" } });
    expect(r.body).toBe("hi");
    expect(r.response.headers.get(HEADER)).toBeNull();
    // Without the header, the origin's response is handed through as it came.
    const plain = await send("/say/x?body=hi", { host: `${id}.test`, headers: { "x-user-id": "solo" } });
    expect(plain.body).toBe("hi");
  });

  it("a fallback records nothing from stable's header as the canary's", async () => {
    const id = "met-fallback";
    await put(id, "mf-1", { weight: 100 });
    // The canary fails (503); stable answers with a conversion.
    const q = new URLSearchParams({ body: "ok", "canary.status": "503", "stable.header": "checkout=1" });
    for (let i = 0; i < 6; i++) {
      const r = await send(`/say/f?${q}`, { host: `${id}.test`, headers: { "x-user-id": `f-${i}` } });
      expect(r.response.headers.get("x-canary-fallback")).toBe("1");
      expect(r.response.headers.get(HEADER)).toBeNull();
    }
    await flush(id, "f-0");
    const checkout = (await status(id)).metrics!.find((m) => m.name === "checkout")!;
    expect(checkout.canary.users).toBe(6);
    expect(checkout.canary.mean).toBe(0);
    expect(checkout.stable.users).toBe(0);
  });

  it("the per-user table starts over with a new release", async () => {
    const id = "met-release";
    await put(id, "mrl-1");
    const before = await traffic(id, 30, "a");
    await flush(id, "a-0");
    expect((await status(id)).metricUsers!.users).toBe(before.seen.canary.users + before.seen.stable.users);

    await put(id, "mrl-2");
    await flush(id, "a-0");
    const fresh = await status(id);
    expect(fresh.state?.release).toBe("mrl-2");
    // Only the flushing user's requests under the new release: one user, no conversion.
    expect(fresh.metricUsers!.users).toBeLessThanOrEqual(1);
    const after = await traffic(id, 8, "b");
    await flush(id, "b-0");
    const st = await status(id);
    const checkout = st.metrics!.find((m) => m.name === "checkout")!;
    expect(checkout.canary.users + checkout.stable.users).toBe(after.seen.canary.users + after.seen.stable.users + 1);
    expect(st.metricUsers!.users).toBe(after.seen.canary.users + after.seen.stable.users + 1);
  });
});
