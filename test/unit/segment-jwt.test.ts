// JWT segments: HS256, RS256 and ES256 (JWK and PEM keys) verify and read a claim by its
// dot-path; every malformed, forged, expired, premature, wrong-alg, alg-none, wrong-iss
// or wrong-aud token never throws and never matches; verified tokens are cached (a hit is
// synchronous and judged against the clock again).
import { describe, expect, it } from "vitest";
import { JwtClaimReader, MAX_JWT_LENGTH, type JwtSource } from "../../src/core/segments/jwt-claim.js";
import { compiledSegments, SegmentEvaluation } from "../../src/core/segments/segment-match.js";
import { configWith, encodePart, facts, keyPair, signHs256, sources, withPart } from "../support/segment-fixtures.js";

const NOW = 1_800_000_000;
const SECRET = "staff-jwt-secret";
const claims = { email: "ann@example.com", exp: NOW + 600, iss: "https://sso.example.com", aud: ["edge"], org: { team: "web" }, groups: ["staff", "qa"] };

function source(over: Partial<JwtSource> = {}): JwtSource {
  return { cookie: "sso", secret: "STAFF_JWT_KEY", alg: "HS256", claim: "email", leewaySec: 60, ...over };
}

async function read(token: string, src: JwtSource = source(), at = NOW, key = SECRET): Promise<unknown> {
  const r = new JwtClaimReader(src);
  return r.read(facts({ headers: { cookie: `sso=${token}`, authorization: `Bearer ${token}` }, nowSec: at }), sources({ STAFF_JWT_KEY: key }));
}

describe("JwtClaimReader: verification", () => {
  it("reads the claim of a valid HS256 token, from a cookie or a Bearer header", async () => {
    const token = await signHs256(SECRET, claims);
    expect(await read(token)).toBe("ann@example.com");
    expect(await read(token, source({ cookie: undefined, header: "authorization" }))).toBe("ann@example.com");
  });

  it("reads nested claims by dot-path, list claims as lists, scalars as strings", async () => {
    const token = await signHs256(SECRET, { ...claims, n: 7, ok: true });
    expect(await read(token, source({ claim: "org.team" }))).toBe("web");
    expect(await read(token, source({ claim: "groups" }))).toEqual(["staff", "qa"]);
    expect(await read(token, source({ claim: "n" }))).toBe("7");
    expect(await read(token, source({ claim: "ok" }))).toBe("true");
    expect(await read(token, source({ claim: "org" }))).toBeUndefined();
    expect(await read(token, source({ claim: "missing.deep" }))).toBeUndefined();
  });

  it.each(["RS256", "ES256"] as const)("%s with the public key as JWK JSON or PEM SPKI", async (alg) => {
    const pair = await keyPair(alg);
    const token = await pair.sign(claims);
    expect(await read(token, source({ alg }), NOW, pair.jwk)).toBe("ann@example.com");
    expect(await read(token, source({ alg }), NOW, pair.pem)).toBe("ann@example.com");
    const other = await keyPair(alg);
    expect(await read(token, source({ alg }), NOW, other.jwk)).toBeUndefined();
    expect(await read(token, source({ alg }), NOW, "not a key")).toBeUndefined();
  });

  it("checks exp and nbf with the leeway", async () => {
    const expired = await signHs256(SECRET, { ...claims, exp: NOW - 61 });
    const justExpired = await signHs256(SECRET, { ...claims, exp: NOW - 59 });
    const early = await signHs256(SECRET, { ...claims, nbf: NOW + 61 });
    const nearlyValid = await signHs256(SECRET, { ...claims, nbf: NOW + 59 });
    expect(await read(expired)).toBeUndefined();
    expect(await read(justExpired)).toBe("ann@example.com");
    expect(await read(early)).toBeUndefined();
    expect(await read(nearlyValid)).toBe("ann@example.com");
    expect(await read(justExpired, source({ leewaySec: 0 }))).toBeUndefined();
    expect(await read(await signHs256(SECRET, { ...claims, exp: "never" }))).toBeUndefined();
  });

  it("checks iss and aud when configured", async () => {
    const token = await signHs256(SECRET, claims);
    expect(await read(token, source({ issuer: "https://sso.example.com", audience: "edge" }))).toBe("ann@example.com");
    expect(await read(token, source({ issuer: "https://evil.example" }))).toBeUndefined();
    expect(await read(token, source({ audience: "other" }))).toBeUndefined();
    expect(await read(await signHs256(SECRET, { ...claims, aud: "edge" }), source({ audience: "edge" }))).toBe("ann@example.com");
  });

  it("accepts exactly the configured alg: none, another alg and an alg switch never match", async () => {
    const token = await signHs256(SECRET, claims);
    const none = `${encodePart({ alg: "none", typ: "JWT" })}.${encodePart(claims)}.`;
    expect(await read(none)).toBeUndefined();
    expect(await read(`${none}x`)).toBeUndefined();
    expect(await read(withPart(token, 0, encodePart({ alg: "HS512" })))).toBeUndefined();
    expect(await read(withPart(token, 0, encodePart({ alg: "hs256" })))).toBeUndefined();
    // An HS256 token "signed" with an RS256 public key as the HMAC secret (the classic confusion).
    const pair = await keyPair("RS256");
    const confused = await signHs256(pair.pem, claims);
    expect(await read(confused, source({ alg: "RS256" }), NOW, pair.pem)).toBeUndefined();
    expect(await read(await signHs256(SECRET, claims, { alg: "HS256", crit: ["b64"] }))).toBeUndefined();
  });

  it.each([
    ["empty", ""],
    ["one part", "abc"],
    ["two parts", "abc.def"],
    ["four parts", "a.b.c.d"],
    ["non-base64url", "a$b.c.d"],
    ["header not JSON", `${encodePart("x").slice(0, -2)}zz.${encodePart(claims)}.sig`],
    ["header an array", `${encodePart([1])}.${encodePart(claims)}.c2ln`],
    ["payload null", `${encodePart({ alg: "HS256" })}.${encodePart(null)}.c2ln`],
    ["bad signature length", `${encodePart({ alg: "HS256" })}.${encodePart(claims)}.a`],
  ])("malformed (%s) never matches", async (_name, token) => {
    expect(await read(token)).toBeUndefined();
  });

  it("a wrong signature, a changed payload, a wrong or missing secret never match", async () => {
    const token = await signHs256(SECRET, claims);
    const forged = await signHs256("guess", claims);
    expect(await read(forged)).toBeUndefined();
    expect(await read(withPart(token, 1, encodePart({ ...claims, email: "eve@example.com" })))).toBeUndefined();
    expect(await read(token, source(), NOW, "rotated")).toBeUndefined();
    const r = new JwtClaimReader(source());
    expect(r.read(facts({ headers: { cookie: `sso=${token}` } }), sources())).toBeUndefined();
  });

  it("a token over MAX_JWT_LENGTH is not read", async () => {
    const token = await signHs256(SECRET, { ...claims, pad: "x".repeat(MAX_JWT_LENGTH) });
    expect(token.length).toBeGreaterThan(MAX_JWT_LENGTH);
    expect(await read(token, source({ cookie: undefined, header: "authorization" }))).toBeUndefined();
  });
});

describe("JwtClaimReader: cache", () => {
  it("a verified token is answered synchronously, and its exp judged again", async () => {
    const token = await signHs256(SECRET, { ...claims, exp: NOW + 10 });
    const r = new JwtClaimReader(source({ leewaySec: 0 }));
    const req = (at: number) => facts({ headers: { cookie: `sso=${token}` }, nowSec: at });
    const src = sources({ STAFF_JWT_KEY: SECRET });
    const first = r.read(req(NOW), src);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe("ann@example.com");
    expect(r.read(req(NOW + 5), src)).toBe("ann@example.com");
    expect(r.read(req(NOW + 11), src)).toBeUndefined();
  });

  it("a forged token is never cached; a changed secret empties the cache", async () => {
    const token = await signHs256(SECRET, claims);
    const forged = await signHs256("guess", claims);
    const r = new JwtClaimReader(source());
    const req = (t: string) => facts({ headers: { cookie: `sso=${t}` }, nowSec: NOW });
    expect(await r.read(req(forged), sources({ STAFF_JWT_KEY: SECRET }))).toBeUndefined();
    expect(r.read(req(forged), sources({ STAFF_JWT_KEY: SECRET }))).toBeInstanceOf(Promise);
    expect(await r.read(req(token), sources({ STAFF_JWT_KEY: SECRET }))).toBe("ann@example.com");
    expect(r.read(req(token), sources({ STAFF_JWT_KEY: SECRET }))).toBe("ann@example.com");
    const rotated = r.read(req(token), sources({ STAFF_JWT_KEY: "rotated" }));
    expect(rotated).toBeInstanceOf(Promise);
    expect(await rotated).toBeUndefined();
  });

  it("keeps at most its bound of tokens (oldest dropped first)", async () => {
    const r = new JwtClaimReader(source(), 2);
    const src = sources({ STAFF_JWT_KEY: SECRET });
    const tokens = await Promise.all([1, 2, 3].map((i) => signHs256(SECRET, { ...claims, email: `u${i}@example.com` })));
    for (const t of tokens) await r.read(facts({ headers: { cookie: `sso=${t}` }, nowSec: NOW }), src);
    expect(r.read(facts({ headers: { cookie: `sso=${tokens[0]}` }, nowSec: NOW }), src)).toBeInstanceOf(Promise);
    expect(r.read(facts({ headers: { cookie: `sso=${tokens[2]}` }, nowSec: NOW }), src)).toBe("u3@example.com");
  });
});

describe("jwt segment", () => {
  it("the staff segment: a verified email claim with a suffix test", async () => {
    const config = configWith({ staff: { jwt: { cookie: "sso", secret: "STAFF_JWT_KEY", claim: "email" }, suffix: "@example.com" } });
    const ev = async (token: string) => new SegmentEvaluation(compiledSegments(config), facts({ headers: { cookie: `sso=${token}` }, nowSec: NOW }), sources({ STAFF_JWT_KEY: SECRET })).segment("staff");
    expect(await ev(await signHs256(SECRET, claims))).toBe(true);
    expect(await ev(await signHs256(SECRET, { ...claims, email: "eve@evil.test" }))).toBe(false);
    expect(await ev(await signHs256("guess", claims))).toBe(false);
    expect(await ev("garbage")).toBe(false);
  });
});
