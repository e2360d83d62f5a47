// Issue #14 items 3, 5 and 8: the identity cookie cannot be chosen by the client, is
// found in any Cookie header the runtime accepts, and carries attributes a browser will
// store on the scheme the site is served on.
import { beforeAll, describe, expect, it } from "vitest";
import { tagIdentity } from "../../src/core/identity-tag.js";
import { config, cookieFrom, putConfigAndSync, route, send } from "./helpers.js";

const FAST = { intervalMs: 100 };
const setCookieOf = (r: { response: Response }) => r.response.headers.getSetCookie().find((c) => c.startsWith("canary_id="));

async function mint(envOverrides: Partial<Env> = {}): Promise<{ cookie: string; variant: string }> {
  const r = await send("/", { envOverrides });
  return { cookie: cookieFrom(r.response, "canary_id")!, variant: r.variant! };
}

describe("resolveIdentity + IdentityCheck: minted identities are verifiable (item 3)", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "tag-1" })), sync: FAST });
  });

  it("accepts its own tagged cookie back: same variant, no new Set-Cookie", async () => {
    for (let i = 0; i < 20; i++) {
      const { cookie, variant } = await mint();
      expect(cookie).toMatch(/^canary_id=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}$/);
      for (let j = 0; j < 2; j++) {
        const again = await send("/", { headers: { cookie } });
        expect(again.variant).toBe(variant);
        expect(setCookieOf(again)).toBeUndefined();
      }
    }
  });

  it("replaces values a client made up: untagged, wrong length, tampered, or tagged under another secret", async () => {
    const { cookie } = await mint();
    const value = cookie.slice("canary_id=".length);
    const tampered = value.slice(0, -1) + (value.endsWith("A") ? "B" : "A");
    const foreign = await tagIdentity("not-our-secret", value.slice(0, 22));
    for (const chosen of ["AAAAAAAAAAAAAAAAAAAAAA", "a".repeat(16), "canary-please-canary-please", value.slice(0, 22), tampered, foreign]) {
      const r = await send("/", { headers: { cookie: `canary_id=${chosen}` } });
      const fresh = cookieFrom(r.response, "canary_id");
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(`canary_id=${chosen}`);
    }
  });

  it("a client cannot steer itself into the canary by trying values", async () => {
    await putConfigAndSync({ ...config(route({ weight: 1, release: "tag-steer" })), sync: FAST });
    // 300 guesses of the exact minted shape: each is replaced by an id the edge chose.
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const guess = `${i.toString(36).padStart(21, "A")}A`;
      const r = await send("/", { headers: { cookie: `canary_id=${guess}` } });
      if (!setCookieOf(r)) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it("rotation: a cookie tagged under IDENTITY_SECRET_PREVIOUS keeps its cohort and is re-issued under the new secret", async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "tag-rotate" })), sync: FAST });
    const rotated = { IDENTITY_SECRET: "secret-2", IDENTITY_SECRET_PREVIOUS: "secret-1" };
    for (let i = 0; i < 10; i++) {
      const before = await mint({ IDENTITY_SECRET: "secret-1" });
      const r = await send("/", { headers: { cookie: before.cookie }, envOverrides: rotated });
      expect(r.variant).toBe(before.variant);
      const reissued = cookieFrom(r.response, "canary_id")!;
      expect(reissued.slice(0, 32)).toBe(before.cookie.slice(0, 32)); // same id ("canary_id=" + 22 chars)
      expect(reissued).not.toBe(before.cookie);
      const after = await send("/", { headers: { cookie: reissued }, envOverrides: rotated });
      expect(after.variant).toBe(before.variant);
      expect(setCookieOf(after)).toBeUndefined();
      // Once the previous secret is dropped, only the re-issued cookie still verifies.
      expect(setCookieOf(await send("/", { headers: { cookie: before.cookie }, envOverrides: { IDENTITY_SECRET: "secret-2" } }))).toBeDefined();
    }
  });

  it("without IDENTITY_SECRET accepts only the exact minted shape", async () => {
    const none = { IDENTITY_SECRET: undefined };
    const { cookie } = await mint(none);
    expect(cookie).toMatch(/^canary_id=[A-Za-z0-9_-]{21}[AQgw]$/);
    expect(setCookieOf(await send("/", { headers: { cookie }, envOverrides: none }))).toBeUndefined();
    for (const chosen of ["a".repeat(16), "a".repeat(64), "AbCdEfGhIjKlMnOpQrSt-_"]) {
      expect(setCookieOf(await send("/", { headers: { cookie: `canary_id=${chosen}` }, envOverrides: none }))).toBeDefined();
    }
  });
});

describe("readCookie through the entry: a large Cookie header (item 5)", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "big-cookie" })), sync: FAST });
  });

  it.each([
    ["first", 0],
    ["middle", 90],
    ["last", 180],
  ])("keeps the user sticky with ours %s among 180 cookies (~36 KB)", async (_where, at) => {
    for (let u = 0; u < 6; u++) {
      const { cookie, variant } = await mint();
      const pairs = Array.from({ length: 180 }, (_, i) => `app_${i}=${"z".repeat(200)}`);
      pairs.splice(at, 0, cookie);
      const header = pairs.join("; ");
      expect(header.length).toBeGreaterThan(16 * 1024);
      for (let j = 0; j < 3; j++) {
        const r = await send("/", { headers: { cookie: header } });
        expect(r.response.status).toBe(200);
        expect(r.variant).toBe(variant);
        expect(setCookieOf(r)).toBeUndefined();
      }
    }
  });
});

describe("serializeCookie through the entry: attributes (item 8)", () => {
  it("Secure only over https by default; sticky.secure forces it either way; sticky.domain adds Domain", async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "attrs-1" })), sync: FAST });
    expect(setCookieOf(await send("/"))).not.toContain("Secure");
    expect(setCookieOf(await send("/", { scheme: "https" }))).toContain("; Secure");
    await putConfigAndSync({ ...config(route({ weight: 50, release: "attrs-2", sticky: { secure: true, domain: "app.test" } })), sync: FAST });
    const forced = setCookieOf(await send("/"))!;
    expect(forced).toContain("; Secure");
    expect(forced).toContain("; Domain=app.test");
    await putConfigAndSync({ ...config(route({ weight: 50, release: "attrs-3", sticky: { secure: false } })), sync: FAST });
    expect(setCookieOf(await send("/", { scheme: "https" }))).not.toContain("Secure");
  });
});
