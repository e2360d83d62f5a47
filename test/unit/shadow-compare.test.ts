// The pure comparisons of shadow mirroring (src/core/shadow/compare.ts, json-compare.ts):
// table-driven, each case one reason two answers agree or differ.
import { describe, expect, it } from "vitest";
import { clipDetail, compareBodies, compareHeaders, compareStatus, firstDifference } from "../../src/core/shadow/compare.js";
import { compareJsonBodies, jsonDifferences, MAX_PATHS, numbersAgree } from "../../src/core/shadow/json-compare.js";
import { MAX_DETAIL } from "../../src/core/shadow/shadow-outcome.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("compareStatus", () => {
  it.each([
    [200, 204, undefined],
    [301, 308, undefined],
    [200, 404, "stable 200, canary 404"],
    [0, 200, "stable no response, canary 200"],
    [503, 500, undefined],
  ])("%i vs %i", (a, b, want) => expect(compareStatus(a, b)).toBe(want));
});

describe("compareHeaders", () => {
  const h = (o: Record<string, string>) => (n: string) => o[n] ?? null;
  it("names differing listed headers with their values, ignores unlisted ones", () => {
    expect(compareHeaders(["content-type"], h({ "content-type": "a", etag: "1" }), h({ "content-type": "a", etag: "2" }))).toBeUndefined();
    expect(compareHeaders(["content-type", "etag"], h({ "content-type": "text/html" }), h({ "content-type": "application/json" }))).toBe('content-type: "text/html" vs "application/json"');
    expect(compareHeaders(["etag"], h({ etag: "1" }), h({}))).toBe('etag: "1" vs absent');
  });

  it("never puts a cookie or auth value into the detail", () => {
    const d = compareHeaders(["set-cookie", "www-authenticate"], h({ "set-cookie": "sid=SECRET1", "www-authenticate": "Basic x" }), h({ "set-cookie": "sid=SECRET2" }));
    expect(d).toBe("set-cookie; www-authenticate");
    expect(d).not.toContain("SECRET");
  });

  it("clips long values and the whole detail to MAX_DETAIL", () => {
    const names = Array.from({ length: 20 }, (_, i) => `x-h${i}`);
    const long = Object.fromEntries(names.map((n) => [n, "v".repeat(200)]));
    const d = compareHeaders(names, h(long), h({}))!;
    expect(d.length).toBeLessThanOrEqual(MAX_DETAIL);
    expect(d).not.toContain("v".repeat(61));
  });
});

describe("compareBodies", () => {
  const digest = (s: string, hash = s) => ({ hash, bytes: enc(s).length, head: enc(s).slice(0, 8) });
  const whole = (s: string) => ({ bytes: enc(s).length, head: enc(s) });
  it.each([
    ["same", digest("abcdefghij"), digest("abcdefghij"), undefined],
    ["a byte inside the kept head", digest("abcdefghij"), digest("abcXefghij"), "first difference at byte 3 (10 bytes each)"],
    ["beyond the kept head", digest("abcdefghij"), digest("abcdefghiX"), "sha-256 differs after byte 8 (10 bytes each)"],
    ["one body a prefix of the other", digest("abc"), digest("abcd"), "first difference at byte 3 (stable 3 bytes, canary 4)"],
    ["no heads kept", { hash: "1", bytes: 10, head: new Uint8Array(0) }, { hash: "2", bytes: 10, head: new Uint8Array(0) }, "sha-256 differs (10 bytes each)"],
    ["an empty body against a non-empty one", digest(""), digest("a"), "first difference at byte 0 (stable 0 bytes, canary 1)"],
    ["whole bodies, equal", whole("abcdefghij"), whole("abcdefghij"), undefined],
    ["whole bodies, one byte near the end", whole("abcdefghij"), whole("abcdefghiX"), "first difference at byte 9 (10 bytes each)"],
    ["whole bodies, one a prefix", whole("abcdefghij"), whole("abcdefghijk"), "first difference at byte 10 (stable 10 bytes, canary 11)"],
  ])("%s", (_name, a, b, want) => expect(compareBodies(a, b)).toBe(want));

  it("firstDifference is -1 over the common length when equal", () => {
    expect(firstDifference(enc("abc"), enc("abcd"))).toBe(-1);
    expect(firstDifference(enc("abc"), enc("abd"))).toBe(2);
    // Word steps, then bytes; and unaligned views fall back to bytes.
    const long = enc("abcdefgh".repeat(512));
    const other = long.slice();
    other[4093] = 0;
    expect(firstDifference(long, other)).toBe(4093);
    expect(firstDifference(long.subarray(1), other.subarray(1))).toBe(4092);
    expect(firstDifference(long, long.slice())).toBe(-1);
  });
});

describe("jsonDifferences", () => {
  const opts = { ignore: [] as string[], numericTolerance: 0 };
  it.each([
    ["equal documents", { a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, opts, []],
    ["a nested number", { items: [{ price: 1 }, { price: 2 }, { price: 3 }, { price: 4 }] }, { items: [{ price: 1 }, { price: 2 }, { price: 3 }, { price: 5 }] }, opts, ["items.3.price"]],
    ["a missing and an extra key", { a: 1, b: 2 }, { a: 1, c: 2 }, opts, ["b", "c"]],
    ["array length", { xs: [1, 2] }, { xs: [1, 2, 3] }, opts, ["xs.2"]],
    ["type change", { a: "1" }, { a: 1 }, opts, ["a"]],
    ["null against object", { a: null }, { a: {} }, opts, ["a"]],
    ["ignored by wildcard", { items: [{ at: 1, v: 1 }, { at: 2, v: 1 }] }, { items: [{ at: 9, v: 1 }, { at: 8, v: 1 }] }, { ignore: ["items.*.at"], numericTolerance: 0 }, []],
    ["ignored subtree", { meta: { id: 1, t: 2 }, v: 1 }, { meta: { id: 2 }, v: 1 }, { ignore: ["meta"], numericTolerance: 0 }, []],
    ["ignored missing key", { a: 1, ts: 5 }, { a: 1 }, { ignore: ["ts"], numericTolerance: 0 }, []],
    ["within tolerance", { p: 100 }, { p: 100.05 }, { ignore: [], numericTolerance: 0.001 }, []],
    ["beyond tolerance", { p: 100 }, { p: 100.2 }, { ignore: [], numericTolerance: 0.001 }, ["p"]],
    ["top-level value", 1, 2, opts, [""]],
  ])("%s", (_name, a, b, o, want) => expect(jsonDifferences(a, b, o)).toEqual(want));

  it("stops at MAX_PATHS differences", () => {
    const a = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const b = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i + 1]));
    expect(jsonDifferences(a, b, opts)).toHaveLength(MAX_PATHS);
  });

  it("numbersAgree is relative, and exact at 0 tolerance", () => {
    expect(numbersAgree(0, 0, 0)).toBe(true);
    expect(numbersAgree(1, 1.0000001, 0)).toBe(false);
    expect(numbersAgree(1000, 1001, 0.001)).toBe(true);
    expect(numbersAgree(0.001, 0.0011, 0.001)).toBe(false);
  });
});

describe("compareJsonBodies", () => {
  const opts = { ignore: [], numericTolerance: 0 };
  it("reports the differing paths, and bodies that are not JSON", () => {
    expect(compareJsonBodies('{"a":1}', '{ "a": 1 }', opts)).toBeUndefined();
    expect(compareJsonBodies('{"a":1,"b":{"c":2}}', '{"a":1,"b":{"c":3}}', opts)).toBe("b.c");
    expect(compareJsonBodies("<html>", "<html>", opts)).toBeUndefined();
    expect(compareJsonBodies('{"a":1}', "<html>", opts)).toBe("canary body is not JSON");
    expect(compareJsonBodies("1", "2", opts)).toBe("(document)");
  });
});

describe("clipDetail", () => {
  it("keeps a short detail and cuts a long one to MAX_DETAIL", () => {
    expect(clipDetail("x")).toBe("x");
    expect(clipDetail("y".repeat(1000))).toHaveLength(MAX_DETAIL);
  });
});
