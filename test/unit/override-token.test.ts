// Signed QA override tokens: only an unexpired token signed with the secret and for
// this route (or "*") pins a variant; everything else is ignored.
import { describe, expect, it } from "vitest";
import { signOverride, verifyOverride } from "../../src/core/override-token.js";

const SECRET = "test-override-secret";
const NOW = 1_750_000_000;
const EXP = NOW + 3600;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Replaces one dot-separated part of a token, keeping the rest (signature included). */
const withPart = (token: string, index: number, value: string): string => {
  const parts = token.split(".");
  parts[index] = value;
  return parts.join(".");
};

describe("signOverride", () => {
  it("produces v1.<variant>.<route>.<exp>.<43-char base64url hmac>", async () => {
    const token = await signOverride(SECRET, "canary", "shop", EXP);
    expect(token).toMatch(new RegExp(`^v1\\.canary\\.shop\\.${EXP}\\.[A-Za-z0-9_-]{43}$`));
  });

  it("floors a fractional expiry", async () => {
    const token = await signOverride(SECRET, "stable", "*", EXP + 0.9);
    expect(token.split(".")[3]).toBe(String(EXP));
  });

  it("is deterministic for the same inputs", async () => {
    expect(await signOverride(SECRET, "canary", "shop", EXP)).toBe(await signOverride(SECRET, "canary", "shop", EXP));
  });
});

describe("verifyOverride", () => {
  it.each(["canary", "stable"] as const)("round-trips a %s token", async (variant) => {
    const token = await signOverride(SECRET, variant, "shop", EXP);
    expect(await verifyOverride(token, SECRET, "shop", NOW)).toBe(variant);
  });

  it("accepts a * token for any route", async () => {
    const token = await signOverride(SECRET, "canary", "*", EXP);
    expect(await verifyOverride(token, SECRET, "shop", NOW)).toBe("canary");
    expect(await verifyOverride(token, SECRET, "cart", NOW)).toBe("canary");
  });

  it("accepts a token until its expiry second and not after", async () => {
    const token = await signOverride(SECRET, "canary", "shop", EXP);
    expect(await verifyOverride(token, SECRET, "shop", EXP)).toBe("canary");
    expect(await verifyOverride(token, SECRET, "shop", EXP + 1)).toBeUndefined();
  });

  it("rejects a token signed with another secret, and still accepts the right one after", async () => {
    const forged = await signOverride("another-secret", "canary", "shop", EXP);
    expect(await verifyOverride(forged, SECRET, "shop", NOW)).toBeUndefined();
    const good = await signOverride(SECRET, "canary", "shop", EXP);
    expect(await verifyOverride(good, "another-secret", "shop", NOW)).toBeUndefined();
    expect(await verifyOverride(good, SECRET, "shop", NOW)).toBe("canary");
  });

  it("rejects a token for another route", async () => {
    const token = await signOverride(SECRET, "canary", "cart", EXP);
    expect(await verifyOverride(token, SECRET, "shop", NOW)).toBeUndefined();
  });

  it.each<[name: string, tamper: (token: string) => string]>([
    ["variant", (t) => withPart(t, 1, "stable")],
    ["route", (t) => withPart(t, 2, "cart")],
    ["route widened to *", (t) => withPart(t, 2, "*")],
    ["expiry extended", (t) => withPart(t, 3, String(EXP + 86_400))],
    ["expiry with a leading zero", (t) => withPart(t, 3, `0${EXP}`)],
    ["version", (t) => withPart(t, 0, "v2")],
    ["signature first char", (t) => withPart(t, 4, (t.split(".")[4]!.startsWith("A") ? "B" : "A") + t.split(".")[4]!.slice(1))],
    // Only the 2 spare bits of the last char change: atob decodes the same bytes, so
    // this is one signature spelled twice and must still be rejected.
    ["signature last char's spare bits", (t) => t.slice(0, -1) + B64URL.charAt(B64URL.indexOf(t.slice(-1)) ^ 1)],
    ["signature truncated", (t) => t.slice(0, -1)],
    ["signature extended", (t) => `${t}A`],
    ["signature reversed", (t) => withPart(t, 4, t.split(".")[4]!.split("").reverse().join(""))],
  ])("rejects a token with a tampered %s", async (_name, tamper) => {
    const token = await signOverride(SECRET, "canary", "shop", EXP);
    const tampered = tamper(token);
    expect(tampered).not.toBe(token);
    expect(await verifyOverride(tampered, SECRET, "shop", NOW)).toBeUndefined();
  });

  it.each<[name: string, token: string]>([
    ["empty", ""],
    ["a single word", "canary"],
    ["too few parts", "v1.canary.shop.1750003600"],
    ["too many dots", `v1.canary.shop.${EXP}.${"A".repeat(43)}.extra`],
    ["only dots", "...."],
    ["an unknown variant", `v1.beta.shop.${EXP}.${"A".repeat(43)}`],
    ["a non-numeric expiry", `v1.canary.shop.soon.${"A".repeat(43)}`],
    ["a negative expiry", `v1.canary.shop.-1.${"A".repeat(43)}`],
    ["a 13-digit expiry", `v1.canary.shop.${"9".repeat(13)}.${"A".repeat(43)}`],
    ["a non-base64url signature", `v1.canary.shop.${EXP}.${"+/=".repeat(14)}A`],
    ["a padded signature", `v1.canary.shop.${EXP}.${"A".repeat(42)}=`],
    ["a signature of the wrong length", `v1.canary.shop.${EXP}.${"A".repeat(44)}`],
    ["a well-formed but wrong signature", `v1.canary.shop.${EXP}.${"A".repeat(43)}`],
    ["a 10 KB string", "v1.".repeat(3414)],
    ["non-ASCII", `v1.canary.shop.${EXP}.${"\u00e9".repeat(43)}`],
  ])("ignores garbage: %s", async (_name, token) => {
    expect(await verifyOverride(token, SECRET, "shop", NOW)).toBeUndefined();
  });
});
