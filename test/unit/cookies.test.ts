// Cookie parsing of untrusted headers: first occurrence wins, malformed pairs are
// skipped, oversized input yields nothing; and the identity Set-Cookie attributes.
import { describe, expect, it } from "vitest";
import { MAX_COOKIE_VALUE, readCookie, serializeCookie, withoutCookie } from "../../src/core/cookies.js";

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

  // Property test (#14 item 5): our cookie is found at any position among up to 200
  // cookies and at any header size up to 256 KB (beyond what runtimes accept: Cloudflare
  // takes 128 KB of request headers, workerd locally more), never a decoy.
  it("finds our cookie at any position among up to 200 cookies, at any header size", () => {
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const decoys = ["xcanary_id", "canary_id_old", "canary_idx", "Canary_id", "a"];
    for (let trial = 0; trial < 400; trial++) {
      const count = 1 + rand(200);
      const size = rand(4) === 0 ? 256 * 1024 : rand(64 * 1024);
      const padEach = Math.max(1, Math.floor(size / count));
      const at = rand(count);
      const pairs: string[] = [];
      for (let i = 0; i < count; i++) {
        if (i === at) pairs.push(`canary_id=ours${trial}`);
        else {
          const name = rand(3) === 0 ? decoys[rand(decoys.length)]! : `c${i}`;
          // Values that contain our name, =, spaces: none of them may be taken for our pair.
          pairs.push(`${name}=${"v".repeat(padEach % 3000)}canary_id=not${i}`);
        }
      }
      const header = pairs.join(rand(2) ? "; " : ";");
      expect(readCookie(header, "canary_id")).toBe(`ours${trial}`);
    }
  });

  it("reads a 200 KB header in well under a millisecond per KB", () => {
    const header = `${Array.from({ length: 199 }, (_, i) => `c${i}=${"x".repeat(1000)}`).join("; ")}; canary_id=late`;
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(readCookie(header, "canary_id")).toBe("late");
    expect((performance.now() - started) / 100).toBeLessThan(20);
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
    expect(serializeCookie("canary_id", "AbC-_123", { maxAgeSec: 2_592_000, secure: true })).toBe(
      "canary_id=AbC-_123; Path=/; Max-Age=2592000; Secure; HttpOnly; SameSite=Lax",
    );
  });

  it("leaves Secure out for plain http and adds Domain when configured", () => {
    expect(serializeCookie("canary_id", "v", { maxAgeSec: 60, secure: false, domain: "example.com" })).toBe(
      "canary_id=v; Path=/; Max-Age=60; Domain=example.com; HttpOnly; SameSite=Lax",
    );
  });

  it("percent-encodes the value so readCookie gets it back", () => {
    const cookie = serializeCookie("canary_id", "a b;c=d", { maxAgeSec: 60, secure: true });
    expect(cookie.startsWith("canary_id=a%20b%3Bc%3Dd; ")).toBe(true);
    const pair = cookie.split("; ")[0]!;
    expect(readCookie(`other=1; ${pair}`, "canary_id")).toBe("a b;c=d");
  });
});

describe("withoutCookie", () => {
  it.each<[header: string, expected: string]>([
    ["canary_override=t", ""],
    ["a=1; canary_override=t", "a=1"],
    ["canary_override=t; a=1", "a=1"],
    ["a=1; canary_override=t; b=2", "a=1; b=2"],
    ["a=1;canary_override=t;b=2", "a=1; b=2"],
    ["canary_override=t; a=1; canary_override=u", "a=1"],
    ["xcanary_override=keep; a=canary_override=keep", "xcanary_override=keep; a=canary_override=keep"],
  ])("removes the pair from %j", (header, expected) => {
    expect(withoutCookie(header, "canary_override")).toBe(expected);
  });
});
