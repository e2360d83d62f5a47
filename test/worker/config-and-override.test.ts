import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signOverride } from "../../src/core/override-token.js";
import { clock, config, loggedErrors, putConfig, route, send } from "./helpers.js";

const REJECTED = "edge-canary config rejected; last good config keeps serving";

// Order matters in this file: the isolate's config cache lives across tests, which is
// exactly what "last good config keeps serving" is about.
describe("ConfigCache through the entry", () => {
  it("answers with a clear 503 naming the problem when no config was ever seen", async () => {
    await env.CANARY_CONFIG.delete("config");
    let r!: Awaited<ReturnType<typeof send>>;
    const logged = await loggedErrors(async () => {
      r = await send("/");
    });
    expect(logged).toEqual([expect.objectContaining({ msg: REJECTED, servingHash: null, rejectedHash: null, errors: [expect.stringContaining('KV key "config" is missing')] })]);
    expect(r.response.status).toBe(503);
    expect(r.response.headers.get("x-canary-error")).toBe("no_config");
    const body = JSON.parse(r.body) as { error: { message: string; details: string[] } };
    expect(body.error.message).toContain("no valid config");
    expect(body.error.details[0]).toContain('KV key "config" is missing');
  });

  it("reports the invalid field when the only config is invalid", async () => {
    let r!: Awaited<ReturnType<typeof send>>;
    const logged = await loggedErrors(async () => {
      await putConfig(JSON.stringify(config(route({ canary: { origin: "not a url" } }))));
      r = await send("/");
    });
    // Logged once per distinct document, however many requests see it.
    expect(logged).toEqual([expect.objectContaining({ msg: REJECTED, errors: [expect.stringContaining("routes[0].canary.origin must be an absolute http(s) URL")] })]);
    expect(r.response.status).toBe(503);
    expect(r.body).toContain("routes[0].canary.origin must be an absolute http(s) URL");
  });

  it("keeps serving the last good config when KV gets an invalid or missing document", async () => {
    await putConfig(config(route({ weight: 100, release: "good-1" })));
    expect((await send("/")).response.headers.get("x-canary-release")).toBe("good-1");

    const logged = await loggedErrors(async () => {
      for (const bad of ["{not json", JSON.stringify({ version: 1, routes: [] }), JSON.stringify(config(route({ weight: 250 })))]) {
        await putConfig(bad);
        for (let i = 0; i < 5; i++) {
          const r = await send(`/after-bad/${i}`);
          expect(r.response.status).toBe(200);
          expect(r.response.headers.get("x-canary-release")).toBe("good-1");
        }
      }
      await env.CANARY_CONFIG.delete("config");
      await send("/warm");
      const r = await send("/after-delete");
      expect(r.response.status).toBe(200);
      expect(r.response.headers.get("x-canary-release")).toBe("good-1");
    });
    // Each rejected document once (the missing key has no hash), while good-1 serves.
    expect(logged.every((l) => l.msg === REJECTED && typeof l.servingHash === "string")).toBe(true);
    expect(new Set(logged.map((l) => l.rejectedHash)).size).toBe(4);
    expect(logged.map((l) => (l.errors as string[])[0])).toEqual([
      expect.stringContaining("config is not valid JSON"),
      expect.stringContaining("routes must have at least 1 item"),
      expect.stringContaining("routes[0].weight must be between 0 and 100"),
      expect.stringContaining('KV key "config" is missing'),
    ]);

    await putConfig(config(route({ weight: 100, release: "good-2" })));
    expect((await send("/")).response.headers.get("x-canary-release")).toBe("good-2");
  });
});

describe("overrideVariant: signed QA override", () => {
  const nowSec = () => Math.floor(clock.now() / 1000);

  it("pins the variant for a token signed with OVERRIDE_SECRET, by header or cookie", async () => {
    await putConfig(config(route({ weight: 0 })));
    const token = await signOverride(env.OVERRIDE_SECRET!, "canary", "www", nowSec() + 600);
    expect((await send("/", { headers: { "x-canary-override": token } })).variant).toBe("canary");
    expect((await send("/", { headers: { cookie: `canary_override=${token}` } })).variant).toBe("canary");
    // the override header never reaches the origin
    const echo = JSON.parse((await send("/", { headers: { "x-canary-override": token } })).body) as { headers: Record<string, unknown> };
    expect(echo.headers["x-canary-override"]).toBeUndefined();
  });

  it("ignores forged, expired, foreign-route and malformed tokens", async () => {
    await putConfig(config(route({ weight: 0 })));
    const forged = await signOverride("not-the-secret", "canary", "www", nowSec() + 600);
    const expired = await signOverride(env.OVERRIDE_SECRET!, "canary", "www", nowSec() - 1);
    const otherRoute = await signOverride(env.OVERRIDE_SECRET!, "canary", "api", nowSec() + 600);
    const good = await signOverride(env.OVERRIDE_SECRET!, "canary", "www", nowSec() + 600);
    const tampered = good.replace(".www.", ".*.");
    for (const token of [forged, expired, otherRoute, tampered, "canary", "v1.canary.www.9999999999.AAAA", "x".repeat(5000)]) {
      const r = await send("/", { headers: { "x-canary-override": token, cookie: `canary_override=${token}` } });
      expect(r.response.status).toBe(200);
      expect(r.variant).toBe("stable");
    }
  });

  it("ignores every override when no OVERRIDE_SECRET is set", async () => {
    await putConfig(config(route({ weight: 0 })));
    const token = await signOverride(env.OVERRIDE_SECRET!, "canary", "www", nowSec() + 600);
    const r = await send("/", { headers: { "x-canary-override": token }, envOverrides: { OVERRIDE_SECRET: undefined } });
    expect(r.variant).toBe("stable");
  });
});
