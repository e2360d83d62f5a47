// The identity tag (#14 item 3): valid, tampered, wrong secret, rotated secret.
import { describe, expect, it } from "vitest";
import { parseOwnCookie, tagIdentity, verifyIdentityTag } from "../../src/core/identity-tag.js";
import { mintIdentity } from "../../src/core/identity.js";

const id = mintIdentity((n) => crypto.getRandomValues(new Uint8Array(n)));

async function verdict(value: string, current: string, previous?: string) {
  const own = parseOwnCookie(value);
  return own ? verifyIdentityTag(own, previous ? { current, previous } : { current }) : "unparsed";
}

describe("tagIdentity / verifyIdentityTag", () => {
  it("tags an id as <id>.<16 chars> (39 chars) that verifies under its secret", async () => {
    const value = await tagIdentity("s1", id);
    expect(value).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}$/);
    expect(value.startsWith(`${id}.`)).toBe(true);
    expect(await verdict(value, "s1")).toBe("current");
    expect(await tagIdentity("s1", id)).toBe(value); // deterministic: one spelling per id
  });

  it("rejects every single-character change of the id or the tag", async () => {
    const value = await tagIdentity("s1", id);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (let i = 0; i < value.length; i++) {
      if (value[i] === ".") continue;
      const replacement = alphabet[(alphabet.indexOf(value[i]!) + 1 + (i % 7)) % alphabet.length]!;
      const tampered = value.slice(0, i) + replacement + value.slice(i + 1);
      expect(await verdict(tampered, "s1")).not.toBe("current");
    }
  });

  it("rejects a tag made with another secret, and an untagged id", async () => {
    expect(await verdict(await tagIdentity("other", id), "s1")).toBeUndefined();
    expect(await verdict(id, "s1")).toBeUndefined();
  });

  it("accepts the previous secret's tag during a rotation, and reports it as previous", async () => {
    const old = await tagIdentity("s1", id);
    expect(await verdict(old, "s2", "s1")).toBe("previous");
    expect(await verdict(await tagIdentity("s2", id), "s2", "s1")).toBe("current");
    expect(await verdict(old, "s3", "s2")).toBeUndefined(); // two rotations later: gone
  });
});
