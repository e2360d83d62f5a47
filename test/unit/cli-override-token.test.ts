// `override-token` mints what the Worker accepts: the token verifies with the Worker's
// verifyOverride under the same secret, for the asked route and variant, until its TTL.
import { describe, expect, it } from "vitest";
import { verifyOverride } from "../../src/core/override-token.js";
import { runCli } from "./cli-harness.js";

const SECRET = "test-override-secret";

describe("override-token", () => {
  it("mints a token the Worker verifies for that route, and prints curl lines", async () => {
    const r = await runCli(["override-token", "--variant", "canary", "--route", "shop", "--ttl", "15m", "--url", "https://shop.example.com/"], { env: { OVERRIDE_SECRET: SECRET } });
    expect(r.code).toBe(0);
    const token = r.out.split("\n")[0]!;
    expect(token).toMatch(/^v1\.canary\.shop\.\d+\.[A-Za-z0-9_-]{43}$/);
    const now = Math.floor(Date.now() / 1000);
    expect(await verifyOverride(token, SECRET, "shop", now)).toBe("canary");
    expect(await verifyOverride(token, SECRET, "api", now)).toBeUndefined();
    expect(await verifyOverride(token, SECRET, "shop", now + 16 * 60)).toBeUndefined();
    expect(await verifyOverride(token, "other-secret", "shop", now)).toBeUndefined();
    expect(r.out).toContain(`curl -H 'x-canary-override: ${token}' https://shop.example.com/`);
    expect(r.out).toContain(`curl --cookie 'canary_override=${token}' https://shop.example.com/`);
  });

  it("defaults to every route for 1 h; --json gives the expiry", async () => {
    const r = await runCli(["override-token", "--variant", "stable", "--json"], { env: { OVERRIDE_SECRET: SECRET } });
    const body = JSON.parse(r.out) as { token: string; route: string; expiresAt: number };
    expect(body.route).toBe("*");
    expect(Math.abs(body.expiresAt - (Math.floor(Date.now() / 1000) + 3600))).toBeLessThanOrEqual(1);
    expect(await verifyOverride(body.token, SECRET, "anything", Math.floor(Date.now() / 1000))).toBe("stable");
  });

  it("exits 1 without OVERRIDE_SECRET and 2 on a bad variant, route or ttl", async () => {
    const noSecret = await runCli(["override-token", "--variant", "canary"]);
    expect(noSecret.code).toBe(1);
    expect(noSecret.err).toMatch(/^error: OVERRIDE_SECRET is not set/);
    const env = { env: { OVERRIDE_SECRET: SECRET } };
    expect((await runCli(["override-token", "--variant", "blue"], env)).code).toBe(2);
    expect((await runCli(["override-token", "--variant", "canary", "--route", "Bad.Route"], env)).code).toBe(2);
    expect((await runCli(["override-token", "--variant", "canary", "--ttl", "45d"], env)).code).toBe(2);
  });
});
