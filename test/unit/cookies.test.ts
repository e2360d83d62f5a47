// Cookie parsing of untrusted headers: first occurrence wins, malformed pairs are
// skipped, oversized input yields nothing; and the identity Set-Cookie attributes.
import { describe, expect, it } from "vitest";
import { MAX_COOKIE_HEADER, MAX_COOKIE_VALUE, readCookie, serializeCookie } from "../../src/core/cookies.js";

describe("readCookie", () => {
  it.each<[name: string, header: string | null, expected: string | undefined]>([
    ["a single pair", "canary_id=abc", "abc"],
    ["one of several pairs", "a=1; canary_id=abc; b=2", "abc"],
    ["pairs without a space after ;", "a=1;canary_id=abc;b=2", "abc"],
    ["spaces around name and value", "a=1;   canary_id  =  abc   ; b=2", "abc"],
    ["a quoted value", 'canary_id="abc"', "abc"],
    ["a lone quote kept as is", 'canary_id="', '"'],
    ["a percent-encoded value", "canary_id=a%20b%2Fc", "a b/c"],
    ["malformed percent-encoding, returned raw", "canary_id=abc%E0%A4%A", "abc%E0%A4%A"],
    ["a value containing =", "canary_id=a=b==", "a=b=="],
    ["the first of duplicated names", "canary_id=first; canary_id=second", "first"],
    ["the exact name, not one with it as suffix", "xcanary_id=wrong; canary_id=right", "right"],
    ["the exact name, not one with it as prefix", "canary_id_old=wrong; canary_id=right", "right"],
    ["a pair after pairs without =", "garbage; ; =; canary_id=abc", "abc"],
    ["absent when only a longer name is present", "xcanary_id=wrong; canary_id2=wrong", undefined],
    ["absent when the name only appears without =", "canary_id; other=1", undefined],
    ["absent for an empty value", "canary_id=; other=1", undefined],
    ["absent for an empty quoted value", 'canary_id=""', undefined],
    ["absent for a whitespace-only value", "canary_id=   ", undefined],
    ["absent for an empty header", "", undefined],
    ["absent for a null header", null, undefined],
  ])("reads %s", (_name, header, expected) => {
    expect(readCookie(header, "canary_id")).toBe(expected);
  });

  it("is case-sensitive in the name", () => {
    expect(readCookie("Canary_ID=abc", "canary_id")).toBeUndefined();
  });

  it("accepts a header at the size limit and rejects one above it", () => {
    const prefix = "canary_id=abc; pad=";
    const atLimit = prefix + "x".repeat(MAX_COOKIE_HEADER - prefix.length);
    expect(atLimit.length).toBe(16 * 1024);
    expect(readCookie(atLimit, "canary_id")).toBe("abc");
    expect(readCookie(atLimit + "x", "canary_id")).toBeUndefined();
  });

  it("accepts a value at the size limit and rejects one above it", () => {
    expect(MAX_COOKIE_VALUE).toBe(4096);
    const atLimit = "v".repeat(MAX_COOKIE_VALUE);
    expect(readCookie(`canary_id=${atLimit}`, "canary_id")).toBe(atLimit);
    expect(readCookie(`canary_id=${atLimit}v`, "canary_id")).toBeUndefined();
  });
});

describe("serializeCookie", () => {
  it("sets Path=/, Max-Age, Secure, HttpOnly and SameSite=Lax", () => {
    expect(serializeCookie("canary_id", "AbC-_123", 2_592_000)).toBe(
      "canary_id=AbC-_123; Path=/; Max-Age=2592000; Secure; HttpOnly; SameSite=Lax",
    );
  });

  it("percent-encodes the value so readCookie gets it back", () => {
    const cookie = serializeCookie("canary_id", "a b;c=d", 60);
    expect(cookie.startsWith("canary_id=a%20b%3Bc%3Dd; ")).toBe(true);
    const pair = cookie.split("; ")[0]!;
    expect(readCookie(`other=1; ${pair}`, "canary_id")).toBe("a b;c=d");
  });
});
