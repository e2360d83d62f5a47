import { describe, expect, it, beforeAll } from "vitest";
import entry from "../../src/index.js";
import { config, cookieFrom, originControl, origins, originStats, putConfigAndSync, route, send } from "./helpers.js";

const FAST = { intervalMs: 100 };

describe("handleRequest: split and stickiness", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 30, release: "split-1" })), sync: FAST });
  });

  it("mints an identity cookie, keeps the user on one variant, and splits near the weight", async () => {
    let canary = 0;
    const N = 300;
    for (let i = 0; i < N; i++) {
      const first = await send("/page");
      expect(first.response.status).toBe(200);
      const cookie = cookieFrom(first.response, "canary_id") ?? "";
      expect(cookie).toMatch(/^canary_id=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}$/); // id.tag (IDENTITY_SECRET is set)
      const setCookie = first.response.headers.getSetCookie().find((c) => c.startsWith("canary_id="))!;
      expect(setCookie).not.toContain("Secure"); // plain http: see identity-cookie.test.ts
      expect(setCookie).toContain("HttpOnly");
      expect(setCookie).toContain("SameSite=Lax");
      expect(setCookie).toMatch(/Max-Age=2592000/);
      // origin's own Set-Cookie is kept alongside ours
      expect(cookieFrom(first.response, "app_session")).toBe("app_session=abc");
      const body = JSON.parse(first.body) as { version: string };
      expect(body.version).toBe(first.variant);
      if (first.variant === "canary") canary++;
      for (let j = 0; j < 3; j++) {
        const again = await send("/page", { headers: { cookie } });
        expect(again.variant).toBe(first.variant);
        expect(again.response.headers.getSetCookie().some((c) => c.startsWith("canary_id="))).toBe(false);
      }
    }
    // 300 users at 30%: binomial sd is 2.6 pp; allow 4 sd.
    expect(Math.abs(canary / N - 0.3)).toBeLessThan(0.11);
  });

  it("uses an app header as identity when configured, without minting a cookie", async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "hdr-1", sticky: { source: "header", name: "x-user-id" } })), sync: FAST });
    const seen = new Set<string>();
    for (let u = 0; u < 40; u++) {
      const a = await send("/", { headers: { "x-user-id": `user-${u}` } });
      const b = await send("/", { headers: { "x-user-id": `user-${u}` } });
      expect(b.variant).toBe(a.variant);
      expect(cookieFrom(a.response, "canary_id")).toBeUndefined();
      seen.add(a.variant!);
    }
    expect(seen).toEqual(new Set(["stable", "canary"]));
  });

  it("a new release id reshuffles users while the same release keeps them", async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "shuffle-1", sticky: { source: "header", name: "x-user-id" } })), sync: FAST });
    const before: string[] = [];
    for (let u = 0; u < 60; u++) before.push((await send("/", { headers: { "x-user-id": `u${u}` } })).variant!);
    await putConfigAndSync({ ...config(route({ weight: 50, release: "shuffle-2", sticky: { source: "header", name: "x-user-id" } })), sync: FAST });
    let moved = 0;
    for (let u = 0; u < 60; u++) {
      const r = await send("/", { headers: { "x-user-id": `u${u}` } });
      expect(r.response.headers.get("x-canary-release")).toBe("shuffle-2");
      if (r.variant !== before[u]) moved++;
    }
    expect(moved).toBeGreaterThan(10);
  });
});

describe("handleRequest: header hygiene and routing", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "hyg-1", match: { hosts: ["app.test"], pathPrefix: "/" } })), sync: FAST });
  });

  it("forwards method, path, query and body; sets forwarding headers; strips hop-by-hop and spoofed headers", async () => {
    const r = await send("/a/b?x=1&y=2", {
      method: "POST",
      body: "hello world",
      headers: {
        connection: "keep-alive, x-custom",
        "keep-alive": "timeout=5",
        "x-custom": "dropped because Connection lists it",
        "x-canary-variant": "stable",
        "x-canary-internal": "spoof",
      },
    });
    const echo = JSON.parse(r.body) as { method: string; path: string; query: string; bodyLength: number; headers: Record<string, string | undefined> };
    expect(echo).toMatchObject({ method: "POST", path: "/a/b", query: "?x=1&y=2", bodyLength: 11 });
    expect(echo.headers["x-forwarded-host"]).toBe("app.test");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-canary-variant"]).toBe("canary");
    expect(echo.headers["x-canary-release"]).toBe("hyg-1");
    expect(echo.headers["x-canary-internal"]).toBeUndefined();
    expect(echo.headers["x-custom"]).toBeUndefined();
    expect(echo.headers["keep-alive"]).toBeUndefined();
    expect(r.response.headers.get("x-canary-variant")).toBe("canary");
    expect(r.response.headers.get("x-canary-release")).toBe("hyg-1");
  });

  it("answers an unmatched host with a 404 naming host and path", async () => {
    const r = await send("/x/y", { host: "other.test" });
    expect(r.response.status).toBe(404);
    expect(r.response.headers.get("x-canary-error")).toBe("no_route");
    expect(r.body).toContain('host \\"other.test\\"');
    expect(r.body).toContain('path \\"/x/y\\"');
  });

  it("never lets the request choose the origin host", async () => {
    const r = await send("//evil.test/steal", { headers: { host: "evil.test", "x-forwarded-host": "evil.test" } });
    const echo = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(echo.headers.host).toBe(new URL(origins.canary).host);
  });

  it("hides the variant headers when exposeHeaders is false", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "hide-1", exposeHeaders: false })), sync: FAST });
    const r = await send("/");
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("x-canary-variant")).toBeNull();
    expect(r.response.headers.get("x-canary-release")).toBeNull();
  });
});

describe("src/index.ts", () => {
  it("exports the Worker over the runtime clock: it serves what the Worker under test serves", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "entry-1", match: { hosts: ["app.test"], pathPrefix: "/" } })), sync: FAST });
    const miss = await send("/x", { host: "other.test", via: entry });
    expect(miss.response.status).toBe(404);
    expect(miss.response.headers.get("x-canary-error")).toBe("no_route");
    const hit = await send("/page", { via: entry });
    expect(hit.response.status).toBe(200);
    expect(hit.response.headers.get("x-canary-release")).toBe("entry-1");
  });
});

describe("handleRequest: fallback", () => {
  it("retries every failed canary GET on stable: zero failed GETs with the canary down", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "fb-down", canary: { origin: origins.down } })), sync: FAST });
    for (let i = 0; i < 25; i++) {
      const r = await send(`/item/${i}`);
      expect(r.response.status).toBe(200);
      expect(r.variant).toBe("stable");
      expect(r.response.headers.get("x-canary-fallback")).toBe("1");
      expect(JSON.parse(r.body).version).toBe("stable");
    }
  });

  it("retries a GET that gets a configured failure status", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "fb-status" })), sync: FAST });
    const r = await send("/status/503");
    expect(r.response.status).toBe(503); // stable answers /status/503 with 503 too: served, not hidden
    expect(r.response.headers.get("x-canary-fallback")).toBe("1");
    expect(JSON.parse(r.body).version).toBe("stable");
  });

  it("never replays a POST", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "fb-post" })), sync: FAST });
    await originControl(origins.canary, { failRate: 1, failStatus: 503, reset: true });
    await originControl(origins.stable, { reset: true });
    try {
      const r = await send("/orders", { method: "POST", body: "{}" });
      expect(r.response.status).toBe(503);
      expect(r.response.headers.get("x-canary-fallback")).toBeNull();
      expect((await originStats(origins.canary)).byMethod.POST).toBe(1);
      expect((await originStats(origins.stable)).byMethod.POST).toBeUndefined();
    } finally {
      await originControl(origins.canary, { failRate: 0 });
    }
  });

  it("times out only the response headers: a slow body keeps streaming past timeoutMs", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "slow-body", canary: { origin: origins.canary, timeoutMs: 200 } })), sync: FAST });
    const r = await send("/stream?chunks=6&everyMs=100");
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("x-canary-fallback")).toBeNull();
    expect(r.body).toBe(`${[0, 1, 2, 3, 4, 5].map((i) => `canary chunk ${i}\n`).join("")}end\n`);
  });

  it("times out a silent canary and serves stable", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "fb-timeout", canary: { origin: origins.canary, timeoutMs: 200 } })), sync: FAST });
    const points: AnalyticsEngineDataPoint[] = [];
    const ae = { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) } as AnalyticsEngineDataset;
    // Only the canary is silent (2 s); stable answers the replay at once.
    await originControl(origins.canary, { delayMs: 2000 });
    let r: Awaited<ReturnType<typeof send>>;
    try {
      r = await send("/slow", { envOverrides: { CANARY_AE: ae } });
    } finally {
      await originControl(origins.canary, { delayMs: 0 });
    }
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("x-canary-fallback")).toBe("1");
    // recorded as a canary timeout (not a network error), status 0, after ~timeoutMs
    expect(points[0]!.blobs!.slice(1, 2).concat(points[0]!.blobs!.slice(7))).toEqual(["canary", "1", "timeout"]);
    expect(points[0]!.doubles![1]).toBe(0);
    expect(points[0]!.doubles![0]).toBeGreaterThanOrEqual(200);
    expect(points[0]!.doubles![0]).toBeLessThan(1500);
  });
});
