// identitiesKv lists (src/edge/identity-lists.ts) over a stand-in KV namespace: both
// formats, the size bounds, a cold read waited for and a stale one refreshed in the
// background, and a missing, malformed, oversized or unreadable list that matches nobody
// without throwing.
import { afterEach, describe, expect, it, vi } from "vitest";
import { IdentityLists, MAX_LIST_BYTES, MAX_LIST_IDS, parseIdentityList } from "../../src/edge/identity-lists.js";

function kv(docs: Record<string, string | Error>) {
  let reads = 0;
  const ns = {
    get: async (key: string) => {
      reads++;
      const v = docs[key];
      if (v instanceof Error) throw v;
      return v ?? null;
    },
  } as unknown as KVNamespace;
  return { ns, docs, reads: () => reads };
}

afterEach(() => vi.restoreAllMocks());

describe("parseIdentityList", () => {
  it("reads one identity per line (blank lines and # comments skipped) or a JSON array of strings", () => {
    expect([...(parseIdentityList("a\n\n  b  \n# testers\nc\r\n") as Set<string>)]).toEqual(["a", "b", "c"]);
    expect([...(parseIdentityList(' ["a", "b", " c "] ') as Set<string>)]).toEqual(["a", "b", "c"]);
  });

  it.each([
    ["not JSON", "[a, b", /does not parse/],
    ["not strings", "[1, 2]", /array of strings/],
    ["over the byte bound", "x".repeat(MAX_LIST_BYTES + 1), /over 1000000 bytes/],
    ["over the id bound", Array.from({ length: MAX_LIST_IDS + 1 }, (_, i) => `${i}`).join("\n"), /over 100000 identities/],
  ])("says what is wrong with a list %s", (_name, text, want) => {
    expect(parseIdentityList(text)).toMatch(want);
  });
});

describe("IdentityLists.get", () => {
  it("waits for a cold read, then answers synchronously and refreshes in the background when stale", async () => {
    const store = kv({ beta: "u1\nu2" });
    const lists = new IdentityLists();
    const bg: Promise<unknown>[] = [];
    const cold = lists.get(store.ns, "beta", 0, 1000, (p) => void bg.push(p));
    expect(cold).toBeInstanceOf(Promise);
    expect((await cold)?.has("u2")).toBe(true);
    expect(lists.get(store.ns, "beta", 500, 1000, (p) => void bg.push(p))).toBeInstanceOf(Set);
    expect(store.reads()).toBe(1);
    store.docs.beta = "u3";
    expect(lists.get(store.ns, "beta", 1500, 1000, (p) => void bg.push(p))!).toBeInstanceOf(Set);
    await Promise.all(bg);
    expect((lists.get(store.ns, "beta", 1600, 1000, () => {}) as Set<string>).has("u3")).toBe(true);
  });

  it("a missing, malformed or oversized list matches nobody and is logged once", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const store = kv({ bad: "[nope" });
    const lists = new IdentityLists();
    expect(await lists.get(store.ns, "missing", 0, 0, () => {})).toBeUndefined();
    expect(await lists.get(store.ns, "bad", 0, 0, () => {})).toBeUndefined();
    const bg: Promise<unknown>[] = [];
    expect(lists.get(store.ns, "bad", 10, 0, (p) => void bg.push(p))).toBeUndefined();
    await Promise.all(bg);
    expect(errors.mock.calls.map((c) => JSON.parse(String(c[0])).key)).toEqual(["missing", "bad"]);
  });

  it("a failed KV read keeps the list read before; a cold one matches nobody", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const store = kv({ beta: "u1" });
    const lists = new IdentityLists();
    await lists.get(store.ns, "beta", 0, 0, () => {});
    store.docs.beta = new Error("KV down");
    const bg: Promise<unknown>[] = [];
    lists.get(store.ns, "beta", 10, 0, (p) => void bg.push(p));
    await Promise.all(bg);
    expect((lists.get(store.ns, "beta", 20, 1000, () => {}) as Set<string>).has("u1")).toBe(true);
    expect(await new IdentityLists().get(kv({ x: new Error("KV down") }).ns, "x", 0, 0, () => {})).toBeUndefined();
  });
});
