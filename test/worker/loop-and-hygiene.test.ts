// Issue #14 items 6 and 7: CDN-Loop (RFC 8586) on every origin request and refused on
// the way in; Forwarded set like X-Forwarded-*; the QA override cookie never reaches
// the origin.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import { signOverride } from "../../src/core/override-token.js";
import { capturingAE, config, origins, putConfigAndSync, route, send } from "./helpers.js";

const FAST = { intervalMs: 100 };
type Echo = { version: string; headers: Record<string, string | undefined> };

describe("handleRequest: CDN-Loop (item 6)", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "loop-1" })), sync: FAST });
  });

  it("appends our token to every origin request, after any the client's CDN sent", async () => {
    const plain = JSON.parse((await send("/")).body) as Echo;
    expect(plain.headers["cdn-loop"]).toBe("edge-canary");
    const behindCdn = JSON.parse((await send("/", { headers: { "cdn-loop": "cloudflare; loops=1" } })).body) as Echo;
    expect(behindCdn.headers["cdn-loop"]).toBe("cloudflare; loops=1, edge-canary");
  });

  it("refuses a request that already carries our token with 508 JSON, recorded as a loop, never proxied", async () => {
    // Hop 2 of a loop: exactly the headers hop 1 sent to its (self-pointing) origin.
    const hop1 = JSON.parse((await send("/")).body) as Echo;
    const { ae, points } = capturingAE();
    const r = await send("/", { headers: { "cdn-loop": hop1.headers["cdn-loop"]!, "x-canary-variant": "canary" }, envOverrides: { CANARY_AE: ae } });
    expect(r.response.status).toBe(508);
    expect(r.response.headers.get("x-canary-error")).toBe("loop_detected");
    expect((JSON.parse(r.body) as { error: { code: string } }).error.code).toBe("loop_detected");
    expect(points).toHaveLength(1);
    expect(points[0]!.blobs![8]).toBe("loop");
    for (const token of ["cloudflare, edge-canary", "edge-canary; v=1", "foo,edge-canary ,bar"]) {
      expect((await send("/", { headers: { "cdn-loop": token } })).response.status).toBe(508);
    }
    for (const other of ["cloudflare", "edge-canary-2", "my-edge-canary", "x; note=edge-canary"]) {
      expect((await send("/", { headers: { "cdn-loop": other } })).response.status).toBe(200);
    }
  });

  it("hop 1 serves a GET whose canary answered 508 (a loop) from stable", async () => {
    const r = await send("/status/508");
    expect(r.response.headers.get("x-canary-fallback")).toBe("1");
    expect(r.variant).toBe("stable");
  });

  it("the validator refuses an origin that is the Worker's own admin base", () => {
    const doc = config(route({ canary: { origin: "http://127.0.0.1:8787" } }));
    const refused = validateConfig(doc, { adminBase: "http://127.0.0.1:8787/__canary" });
    expect(refused).toEqual({ ok: false, error: ["routes[0].canary.origin must not be edge-canary itself (http://127.0.0.1:8787, the admin base): requests would loop"] });
    expect(validateConfig(doc, { adminBase: "http://127.0.0.1:8788/__canary" }).ok).toBe(true);
  });
});

describe("sanitizeOriginHeaders: header hygiene (item 7)", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "hyg-7" })), sync: FAST });
  });

  it("replaces a client-sent Forwarded header, as X-Forwarded-Host is", async () => {
    const echo = JSON.parse((await send("/", { headers: { forwarded: 'for=6.6.6.6;host="evil.test";proto=https', "x-forwarded-host": "evil.test" } })).body) as Echo;
    expect(echo.headers.forwarded).toBe('host="app.test";proto=http');
    expect(echo.headers["x-forwarded-host"]).toBe("app.test");
    const withIp = JSON.parse((await send("/", { headers: { "cf-connecting-ip": "2001:db8::1" } })).body) as Echo;
    expect(withIp.headers.forwarded).toBe('for="[2001:db8::1]";host="app.test";proto=http');
  });

  it("removes the QA override cookie from Cookie and keeps the others", async () => {
    const token = await signOverride(env.OVERRIDE_SECRET!, "canary", "www", Math.floor(Date.now() / 1000) + 600);
    const r = await send("/", { headers: { cookie: `a=1; canary_override=${token}; b=2` } });
    expect(r.variant).toBe("canary");
    const echo = JSON.parse(r.body) as Echo;
    expect(echo.headers.cookie).toBe("a=1; b=2");
    const only = JSON.parse((await send("/", { headers: { cookie: `canary_override=${token}` } })).body) as Echo;
    expect(only.headers.cookie).toBeUndefined();
    expect(JSON.parse((await send("/", { headers: { cookie: "a=1" } })).body).headers.cookie).toBe("a=1");
    expect(origins.canary).toContain("127.0.0.1");
  });
});
