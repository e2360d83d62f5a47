// Segments and ring stages through the entry, with request.cf set per request and real
// origins on 127.0.0.1: a staff stage (a trusted header, and a JWT cookie signed here and
// verified with a Worker secret), an identitiesKv list in KV, a country stage, a colo
// ring, a percentage stage after the rings (every ring keeps the canary; everyone else
// by bucket), forged or unverifiable input that changes nothing, a rollback from a ring
// stage, and POST /api/explain answering for the same requests.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { ExplainResponse } from "../../src/core/admin-protocol.js";
import { bucketOf, releaseSalt } from "../../src/core/bucket.js";
import { encodePart, signHs256, withPart } from "../support/segment-fixtures.js";
import { ADMIN_TOKEN, admin, clock, config, putConfigAndSync, route, send } from "./helpers.js";

const JWT_KEY = "test-staff-jwt-key";
const SYNC = { intervalMs: 100 };
const RELEASE = "seg-1";
const NOW_SEC = () => Math.floor(clock.now() / 1000);

const doc = {
  ...config(
    route({
      id: "seg",
      release: RELEASE,
      sticky: { source: "header", name: "x-user-id" },
      steps: {
        stages: [
          { segments: ["staff", "sso"], percent: 100 },
          { segments: ["beta"], percent: 100 },
          { segments: ["nz"], percent: 100 },
          { colos: ["AKL"], percent: 100 },
          { percent: 5 },
        ],
        minDurationSec: 86_400,
        minRequests: 1_000_000,
      },
    }),
  ),
  segments: {
    staff: { header: "x-staff", equals: "1", trusted: true as const },
    sso: { jwt: { cookie: "sso", secret: "STAFF_JWT_KEY", claim: "email" }, suffix: "@example.com" },
    nz: { cf: "country" as const, equals: "NZ" },
    beta: { identitiesKv: "lists/beta" },
  },
  sync: SYNC,
};

type Cf = { country?: string; colo?: string; continent?: string };

/** A request as a user: identity by header, cf as Cloudflare would set it, the JWT secret in the env. */
async function visit(user: string, opts: { headers?: Record<string, string>; cf?: Cf } = {}): Promise<string | null> {
  const r = await send("/page", {
    headers: { "x-user-id": user, ...opts.headers },
    cf: opts.cf,
    envOverrides: { STAFF_JWT_KEY: JWT_KEY } as Partial<Env>,
  } as Parameters<typeof send>[1]);
  expect(r.response.status).toBe(200);
  expect((JSON.parse(r.body) as { version: string }).version).toBe(r.variant);
  return r.variant;
}

async function goTo(step: number): Promise<void> {
  const res = await admin("/routes/seg/step", { body: { reason: "test", step } });
  expect(res.status).toBe(200);
  await synced();
}

async function synced(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    clock.advance(SYNC.intervalMs + 50);
    await send("/__warm");
  }
}

/** POST /api/explain with the Worker's JWT secret in its env, as the deployed Worker has it. */
async function explain(body: unknown): Promise<{ status: number; json: ExplainResponse }> {
  const r = await send("/__canary/api/explain", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    envOverrides: { STAFF_JWT_KEY: JWT_KEY } as Partial<Env>,
  });
  return { status: r.response.status, json: JSON.parse(r.body) as ExplainResponse };
}

const staffJwt = () => signHs256(JWT_KEY, { email: "ann@example.com", exp: NOW_SEC() + 3600 });
const canaryBucket = (user: string) => bucketOf(releaseSalt("seg", RELEASE), user);
const others = Array.from({ length: 60 }, (_, i) => `visitor-${i}`);

beforeAll(async () => {
  await env.CANARY_CONFIG.put("lists/beta", "beta-user-1\nbeta-user-2\n");
  await putConfigAndSync(doc);
});

describe("ring stages through the entry", () => {
  it("staff stage: the trusted header and a verified JWT cookie get the canary, everyone else stable", async () => {
    await goTo(1);
    expect(await visit("staff-1", { headers: { "x-staff": "1" } })).toBe("canary");
    expect(await visit("staff-2", { headers: { cookie: `sso=${await staffJwt()}` } })).toBe("canary");
    for (const u of others.slice(0, 20)) expect(await visit(u, { cf: { country: "NZ", colo: "AKL" } })).toBe("stable");
    expect(await visit("beta-user-1")).toBe("stable");
  });

  it("forged or unverifiable input changes nothing: wrong signature, alg none, another domain, expired, the JWT in a header", async () => {
    const good = await staffJwt();
    const forged = await signHs256("guessed-key", { email: "eve@example.com", exp: NOW_SEC() + 3600 });
    const none = `${encodePart({ alg: "none" })}.${encodePart({ email: "eve@example.com" })}.`;
    const tampered = withPart(good, 1, encodePart({ email: "eve@example.com", exp: NOW_SEC() + 3600 }));
    const otherDomain = await signHs256(JWT_KEY, { email: "eve@evil.test", exp: NOW_SEC() + 3600 });
    const expired = await signHs256(JWT_KEY, { email: "ann@example.com", exp: NOW_SEC() - 3600 });
    for (const token of [forged, none, tampered, otherDomain, expired, "x".repeat(9000)]) {
      expect(await visit("eve", { headers: { cookie: `sso=${token}` } }), token.slice(0, 40)).toBe("stable");
    }
    expect(await visit("eve", { headers: { authorization: `Bearer ${good}` } })).toBe("stable");
    expect(await visit("eve", { headers: { "x-staff": "yes", "x-canary-variant": "canary" } })).toBe("stable");
    // The same user with the real token is staff: it was the token, not the user.
    expect(await visit("eve", { headers: { cookie: `sso=${good}` } })).toBe("canary");
  });

  it("an identitiesKv list in KV: listed users get the canary, others not, staff keep it", async () => {
    await goTo(2);
    expect(await visit("beta-user-1")).toBe("canary");
    expect(await visit("beta-user-2")).toBe("canary");
    expect(await visit("beta-user-3")).toBe("stable");
    expect(await visit("staff-1", { headers: { "x-staff": "1" } })).toBe("canary");
  });

  it("country stage: NZ gets the canary, other countries stable, earlier rings keep it", async () => {
    await goTo(3);
    for (const u of others.slice(0, 20)) expect(await visit(u, { cf: { country: "NZ" } })).toBe("canary");
    for (const u of others.slice(0, 20)) expect(await visit(u, { cf: { country: "AU", colo: "AKL" } })).toBe("stable");
    expect(await visit("visitor-x")).toBe("stable");
    expect(await visit("staff-1", { headers: { "x-staff": "1" } })).toBe("canary");
    expect(await visit("beta-user-1")).toBe("canary");
  });

  it("colo ring: requests served by AKL get the canary, other data centers do not", async () => {
    await goTo(4);
    for (const u of others.slice(0, 20)) expect(await visit(u, { cf: { country: "AU", colo: "AKL" } })).toBe("canary");
    for (const u of others.slice(0, 20)) expect(await visit(u, { cf: { country: "AU", colo: "SYD" } })).toBe("stable");
  });

  it("percentage stage after the rings: every ring keeps the canary, everyone else by bucket below 5%", async () => {
    await goTo(5);
    expect(await visit("staff-1", { headers: { "x-staff": "1" } })).toBe("canary");
    expect(await visit("staff-2", { headers: { cookie: `sso=${await staffJwt()}` } })).toBe("canary");
    expect(await visit("beta-user-2")).toBe("canary");
    let canary = 0;
    for (const u of others) {
      expect(await visit(u, { cf: { country: "NZ", colo: "WLG" } })).toBe("canary");
      expect(await visit(u, { cf: { country: "AU", colo: "AKL" } })).toBe("canary");
      const v = await visit(u, { cf: { country: "DE", colo: "FRA" } });
      expect(v).toBe(canaryBucket(u) < 500 ? "canary" : "stable");
      if (v === "canary") canary++;
    }
    expect(canary).toBeLessThan(others.length / 2);
  });

  it("POST /api/explain says which segments match, the ring, the bucket, the variant and why", async () => {
    const jwt = await staffJwt();
    const staff = await explain({ url: "http://app.test/page", headers: { cookie: `sso=${jwt}` }, cf: { country: "DE" }, identity: "staff-2" });
    expect(staff.status).toBe(200);
    expect(staff.json).toMatchObject({ route: "seg", release: RELEASE, stage: "5%", ring: "staff+sso", variant: "canary", bucket: canaryBucket("staff-2") });
    expect(staff.json.segments).toEqual({ staff: false, sso: true, nz: false, beta: false });
    const nz = await explain({ url: "/page", headers: { "x-user-id": "visitor-7" }, cf: { country: "NZ" } });
    expect(nz.json).toMatchObject({ route: "seg", ring: "nz", variant: "canary", bucket: canaryBucket("visitor-7") });
    expect(nz.json.reason).toContain("in ring nz at 100%");
    const plain = others.find((u) => canaryBucket(u) >= 500)!;
    const out = await explain({ url: "/page", identity: plain, cf: { country: "DE", colo: "FRA" } });
    expect(out.json).toMatchObject({ ring: null, variant: "stable", bucket: canaryBucket(plain) });
    expect(out.json.reason).toBe(`bucket ${canaryBucket(plain)} >= 500 (5% of everyone), and in no ring's audience`);
    const beta = await explain({ url: "/page", identity: "beta-user-1" });
    expect(beta.json).toMatchObject({ ring: "beta", variant: "canary" });
  });

  it("POST /api/explain: bad input is a 400 naming the field; no token is a 401", async () => {
    for (const [body, want] of [
      [{}, /url must be/],
      [{ url: "ftp://x" }, /absolute http\(s\) URL or a path/],
      [{ url: "/", cf: { planet: "mars" } }, /cf: unknown field "planet"/],
      [{ url: "/", headers: { "bad name": "1" } }, /is not a header name/],
      [{ url: "/", headers: { a: 1 } }, /headers.a must be a string/],
      [{ url: "/", identity: "" }, /identity must be/],
      [{ url: "/", extra: 1 }, /unknown field "extra"/],
      ["not json", /JSON object/],
    ] as const) {
      const r = await admin<{ error: string }>("/explain", { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(want);
    }
    expect((await admin("/explain", { body: { url: "/" }, token: null })).status).toBe(401);
  });

  it("rollback from a ring stage: everyone is back on stable at once, rings included", async () => {
    await goTo(4);
    const rb = await admin("/routes/seg/rollback", { body: { reason: "ring regression" } });
    expect(rb.status).toBe(200);
    await synced();
    expect(await visit("staff-1", { headers: { "x-staff": "1" } })).toBe("stable");
    expect(await visit("staff-2", { headers: { cookie: `sso=${await staffJwt()}` } })).toBe("stable");
    expect(await visit("beta-user-1")).toBe("stable");
    for (const u of others.slice(0, 10)) {
      expect(await visit(u, { cf: { country: "NZ", colo: "AKL" } })).toBe("stable");
    }
    const why = await explain({ url: "/page", identity: "staff-1", headers: { "x-staff": "1" } });
    expect(why.json).toMatchObject({ stage: "rolled_back", ring: null, variant: "stable", reason: "the release is rolled back: everyone is served stable" });
    expect(why.json.segments.staff).toBe(true);
  });
});
