// Which identity a request gets: the configured app source, else our own cookie if it
// looks minted, else a fresh id; and the shape of minted ids.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/core/config/schema.js";
import { MAX_APP_IDENTITY, mintIdentity, resolveIdentity } from "../../src/core/identity.js";

type Sticky = RouteConfig["sticky"];

const ownCookie: Sticky = { source: "own-cookie", cookieName: "canary_id", maxAgeSec: 2_592_000, secure: "auto" };
const appCookie: Sticky = { source: "cookie", name: "uid", cookieName: "canary_id", maxAgeSec: 2_592_000, secure: "auto" };
const appHeader: Sticky = { source: "header", name: "x-user-id", cookieName: "canary_id", maxAgeSec: 2_592_000, secure: "auto" };

const OWN = "AbCdEfGhIjKlMnOpQrSt-A"; // 22 chars, like a minted id (last char: 2 bits)
const TAG = "0123456789abcdef"; // 16 chars, the shape of a tag (verified by the edge)
const MINTED = "mintedmintedmintedminA";

/** Resolves with a mint that records how often it was called. */
function resolve(headers: Record<string, string>, sticky: Sticky): { id: string; source: string; mints: number } {
  let mints = 0;
  const identity = resolveIdentity(new Headers(headers), sticky, () => {
    mints++;
    return MINTED;
  });
  return { ...identity, mints };
}

describe("resolveIdentity", () => {
  it.each<[name: string, headers: Record<string, string>, sticky: Sticky, id: string, source: string]>([
    ["own cookie", { cookie: `a=1; canary_id=${OWN}` }, ownCookie, OWN, "own-cookie"],
    ["own cookie under a custom name", { cookie: `my_id=${OWN}` }, { ...ownCookie, cookieName: "my_id" }, OWN, "own-cookie"],
    ["minted when there is no cookie", {}, ownCookie, MINTED, "minted"],
    ["minted when only other cookies exist", { cookie: `xcanary_id=${OWN}` }, ownCookie, MINTED, "minted"],
    ["app cookie", { cookie: `uid=user-42; canary_id=${OWN}` }, appCookie, "user-42", "app-cookie"],
    ["app header, trimmed", { "x-user-id": "  user-42  ", cookie: `canary_id=${OWN}` }, appHeader, "user-42", "header"],
    ["app header ignores a cookie of the same name", { cookie: "x-user-id=user-42" }, appHeader, MINTED, "minted"],
    ["own cookie when the app cookie is missing", { cookie: `canary_id=${OWN}` }, appCookie, OWN, "own-cookie"],
    ["own cookie when the app header is blank", { "x-user-id": "   ", cookie: `canary_id=${OWN}` }, appHeader, OWN, "own-cookie"],
    ["app identity of exactly 256 chars", { "x-user-id": "u".repeat(MAX_APP_IDENTITY) }, appHeader, "u".repeat(256), "header"],
    ["own cookie when the app identity is longer than 256", { "x-user-id": "u".repeat(257), cookie: `canary_id=${OWN}` }, appHeader, OWN, "own-cookie"],
    ["minted when the app cookie is longer than 256 and no own cookie", { cookie: `uid=${"u".repeat(257)}` }, appCookie, MINTED, "minted"],
    ["own cookie with a tag, id part only", { cookie: `canary_id=${OWN}.${TAG}` }, ownCookie, OWN, "own-cookie"],
    ["minted for a 16-char own cookie (not the minted shape)", { cookie: `canary_id=${"a".repeat(16)}` }, ownCookie, MINTED, "minted"],
    ["minted for a 64-char own cookie (not the minted shape)", { cookie: `canary_id=${"a".repeat(64)}` }, ownCookie, MINTED, "minted"],
    ["minted for a 22-char own cookie whose spare bits are set", { cookie: "canary_id=AbCdEfGhIjKlMnOpQrSt-_" }, ownCookie, MINTED, "minted"],
    ["minted for a tag of the wrong length", { cookie: `canary_id=${OWN}.${TAG}x` }, ownCookie, MINTED, "minted"],
    ["minted for an own cookie with bad chars", { cookie: "canary_id=AbCdEfGhIjKlMnOp.rSt+/" }, ownCookie, MINTED, "minted"],
    ["minted for an own cookie with an encoded space", { cookie: "canary_id=AbCdEfGhIjKl%20nOpQrSt" }, ownCookie, MINTED, "minted"],
    ["minted for an oversized own cookie", { cookie: `canary_id=${"a".repeat(5000)}` }, ownCookie, MINTED, "minted"],
  ])("uses the %s", (_name, headers, sticky, id, source) => {
    const got = resolve(headers, sticky);
    expect({ id: got.id, source: got.source }).toEqual({ id, source });
    expect(got.mints).toBe(source === "minted" ? 1 : 0);
  });

  it("ignores the app source for own-cookie stickiness even when a name is set", () => {
    const got = resolve({ "x-user-id": "user-42", cookie: `canary_id=${OWN}` }, { ...ownCookie, name: "x-user-id" });
    expect(got).toMatchObject({ id: OWN, source: "own-cookie" });
  });
});

describe("mintIdentity", () => {
  it("gives 22 base64url chars from 16 random bytes", () => {
    const sizes: number[] = [];
    const id = mintIdentity((n) => {
      sizes.push(n);
      return crypto.getRandomValues(new Uint8Array(n));
    });
    expect(sizes).toEqual([16]);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it.each([
    [new Uint8Array(16), "AAAAAAAAAAAAAAAAAAAAAA"],
    [new Uint8Array(16).fill(0xff), "_____________________w"],
    [Uint8Array.from([0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "-_-_-_-_AAAAAAAAAAAAAA"],
  ])("encodes bytes as base64url without padding (%#)", (bytes, expected) => {
    expect(mintIdentity(() => bytes)).toBe(expected);
  });

  it("mints ids that resolveIdentity accepts back as the own cookie", () => {
    for (let i = 0; i < 200; i++) {
      const id = mintIdentity((n) => crypto.getRandomValues(new Uint8Array(n)));
      expect(resolve({ cookie: `canary_id=${id}` }, ownCookie)).toMatchObject({ id, source: "own-cookie" });
    }
  });
});
