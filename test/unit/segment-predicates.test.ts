// Every predicate source and test of config.segments, the all / any combinators, and bad
// input (oversized values, unknown segments) that never throws and never matches.
import { describe, expect, it } from "vitest";
import { MAX_SEGMENT_VALUE } from "../../src/core/config/schema.js";
import { cfValue } from "../../src/core/segments/request-facts.js";
import { compiledSegments, SegmentEvaluation } from "../../src/core/segments/segment-match.js";
import { compileTest } from "../../src/core/segments/value-test.js";
import { configWith, facts, sources } from "../support/segment-fixtures.js";

type Facts = Parameters<typeof facts>[0];

function inSegment(segment: Record<string, unknown>, request: Facts = {}, src = sources()): boolean | Promise<boolean> {
  const config = configWith({ s: segment as never });
  return new SegmentEvaluation(compiledSegments(config), facts(request), src).segment("s");
}

describe("compileTest", () => {
  it.each([
    { test: { equals: "1" }, value: "1", want: true },
    { test: { equals: "1" }, value: "10", want: false },
    { test: { in: ["NZ", "AU"] }, value: "AU", want: true },
    { test: { in: ["NZ", "AU"] }, value: "nz", want: false },
    { test: { prefix: "beta-" }, value: "beta-7", want: true },
    { test: { prefix: "beta-" }, value: "alpha-beta-7", want: false },
    { test: { suffix: "@example.com" }, value: "ann@example.com", want: true },
    { test: { suffix: "@example.com" }, value: "ann@example.com.evil", want: false },
    { test: { regex: "^v[0-9]+$" }, value: "v12", want: true },
    { test: { regex: "^v[0-9]+$" }, value: "v12x", want: false },
    { test: { present: true as const }, value: "", want: true },
    { test: { present: true as const }, value: undefined, want: false },
    { test: { equals: "a" }, value: ["b", "a"], want: true },
    { test: { equals: "a" }, value: ["b", "c"], want: false },
  ])("$test on $value is $want", ({ test, value, want }) => {
    expect(compileTest(test)(value)).toBe(want);
  });

  it("never matches a value longer than MAX_SEGMENT_VALUE, whatever the test", () => {
    const long = "a".repeat(MAX_SEGMENT_VALUE + 1);
    for (const t of [{ present: true as const }, { prefix: "a" }, { regex: "a" }, { regex: "^(a+)+$" }, { equals: long.slice(0, MAX_SEGMENT_VALUE) }]) {
      expect(compileTest(t)(long)).toBe(false);
    }
    expect(compileTest({ prefix: "a" })("a".repeat(MAX_SEGMENT_VALUE))).toBe(true);
  });

  it("a regex keeps no state between values (no g flag)", () => {
    const t = compileTest({ regex: "x" });
    expect([t("x"), t("x"), t("x")]).toEqual([true, true, true]);
  });
});

describe("cfValue", () => {
  it.each([
    { cf: { country: "NZ" }, field: "country", want: "NZ" },
    { cf: { asn: 13335 }, field: "asn", want: "13335" },
    { cf: { isEUCountry: "1" }, field: "isEUCountry", want: "1" },
    { cf: { isEUCountry: true }, field: "isEUCountry", want: "1" },
    { cf: { isEUCountry: false }, field: "isEUCountry", want: undefined },
    { cf: { country: "" }, field: "country", want: undefined },
    { cf: { colo: { nested: 1 } }, field: "colo", want: undefined },
    { cf: undefined, field: "colo", want: undefined },
  ] as const)("$field of $cf is $want", ({ cf, field, want }) => {
    expect(cfValue(cf as Record<string, unknown> | undefined, field)).toBe(want);
  });
});

describe("SegmentEvaluation.segment", () => {
  it.each([
    { name: "header equals", seg: { header: "x-staff", equals: "1", trusted: true }, req: { headers: { "x-staff": "1" } }, want: true },
    { name: "header absent", seg: { header: "x-staff", equals: "1", trusted: true }, req: {}, want: false },
    { name: "header present", seg: { header: "x-beta", present: true, trusted: true }, req: { headers: { "x-beta": "yes" } }, want: true },
    { name: "cookie prefix", seg: { cookie: "plan", prefix: "pro", trusted: true }, req: { headers: { cookie: "a=1; plan=pro-annual" } }, want: true },
    { name: "cookie other value", seg: { cookie: "plan", prefix: "pro", trusted: true }, req: { headers: { cookie: "plan=free" } }, want: false },
    { name: "cf country in", seg: { cf: "country", in: ["NZ"] }, req: { cf: { country: "NZ" } }, want: true },
    { name: "cf country without cf", seg: { cf: "country", in: ["NZ"] }, req: {}, want: false },
    { name: "cf continent", seg: { cf: "continent", equals: "OC" }, req: { cf: { continent: "OC" } }, want: true },
    { name: "cf region", seg: { cf: "region", equals: "Auckland" }, req: { cf: { region: "Auckland" } }, want: true },
    { name: "cf regionCode", seg: { cf: "regionCode", equals: "AUK" }, req: { cf: { regionCode: "AUK" } }, want: true },
    { name: "cf colo", seg: { cf: "colo", in: ["AKL", "SYD"] }, req: { cf: { colo: "SYD" } }, want: true },
    { name: "cf asn as a decimal string", seg: { cf: "asn", equals: "13335" }, req: { cf: { asn: 13335 } }, want: true },
    { name: "cf isEUCountry", seg: { cf: "isEUCountry", equals: "1" }, req: { cf: { isEUCountry: "1" } }, want: true },
    { name: "url host suffix", seg: { url: "host", suffix: ".internal.test" }, req: { host: "app.internal.test" }, want: true },
    { name: "url path prefix", seg: { url: "path", prefix: "/beta/" }, req: { path: "/beta/x" }, want: true },
    { name: "url path regex", seg: { url: "path", regex: "^/api/v2(/|$)" }, req: { path: "/api/v3" }, want: false },
    { name: "identities", seg: { identities: ["u1", "u2"] }, req: { identity: "u2" }, want: true },
    { name: "identities, not listed", seg: { identities: ["u1", "u2"] }, req: { identity: "u3" }, want: false },
    { name: "all: both", seg: { all: [{ cf: "country", equals: "NZ" }, { header: "x-staff", equals: "1", trusted: true }] }, req: { cf: { country: "NZ" }, headers: { "x-staff": "1" } }, want: true },
    { name: "all: one of two", seg: { all: [{ cf: "country", equals: "NZ" }, { header: "x-staff", equals: "1", trusted: true }] }, req: { cf: { country: "NZ" } }, want: false },
    { name: "any: one of two", seg: { any: [{ cf: "country", equals: "NZ" }, { header: "x-staff", equals: "1", trusted: true }] }, req: { headers: { "x-staff": "1" } }, want: true },
    { name: "any: none", seg: { any: [{ cf: "country", equals: "NZ" }, { header: "x-staff", equals: "1", trusted: true }] }, req: { cf: { country: "AU" } }, want: false },
    { name: "header too long", seg: { header: "x-staff", present: true, trusted: true }, req: { headers: { "x-staff": "1".repeat(MAX_SEGMENT_VALUE + 1) } }, want: false },
    { name: "regex on a long value", seg: { header: "x-q", regex: "^(a|aa)+$", trusted: true }, req: { headers: { "x-q": "a".repeat(MAX_SEGMENT_VALUE + 10) } }, want: false },
  ] as Array<{ name: string; seg: Record<string, unknown>; req: Facts; want: boolean }>)("$name", ({ seg, req, want }) => {
    expect(inSegment(seg, req)).toBe(want);
  });

  it("identitiesKv: in the list, not in it, list missing, list loading", async () => {
    const seg = { identitiesKv: "lists/beta" };
    expect(inSegment(seg, { identity: "b1" }, sources({}, { "lists/beta": new Set(["b1"]) }))).toBe(true);
    expect(inSegment(seg, { identity: "b2" }, sources({}, { "lists/beta": new Set(["b1"]) }))).toBe(false);
    expect(inSegment(seg, { identity: "b1" }, sources())).toBe(false);
    const loading = inSegment(seg, { identity: "b1" }, sources({}, { "lists/beta": Promise.resolve(new Set(["b1"])) }));
    expect(loading).toBeInstanceOf(Promise);
    expect(await loading).toBe(true);
    expect(await inSegment(seg, { identity: "b1" }, sources({}, { "lists/beta": Promise.reject(new Error("kv down")) }))).toBe(false);
  });

  it("an unknown segment name never matches; a segment is evaluated once per request", () => {
    const config = configWith({ staff: { header: "x-staff", equals: "1", trusted: true } });
    let reads = 0;
    const f = facts({ headers: { "x-staff": "1" } });
    const counting = { ...f, header: (n: string) => (reads++, f.header(n)) };
    const ev = new SegmentEvaluation(compiledSegments(config), counting, sources());
    expect(ev.segment("nope")).toBe(false);
    expect([ev.segment("staff"), ev.segment("staff")]).toEqual([true, true]);
    expect(reads).toBe(1);
  });

  it("compiles a config's segments once per parsed config", () => {
    const config = configWith({ staff: { header: "x-staff", equals: "1", trusted: true } });
    expect(compiledSegments(config)).toBe(compiledSegments(config));
  });

  it("a source that throws is a false verdict, not a thrown request", () => {
    const config = configWith({ staff: { header: "x-staff", equals: "1", trusted: true } });
    const broken = { ...facts(), header: (): string | null => { throw new Error("boom"); } };
    expect(new SegmentEvaluation(compiledSegments(config), broken, sources()).segment("staff")).toBe(false);
  });
});

describe("SegmentEvaluation.audience", () => {
  const config = configWith({ staff: { header: "x-staff", equals: "1", trusted: true } });
  const ev = (req: Facts) => new SegmentEvaluation(compiledSegments(config), facts(req), sources());
  const audience = { segments: ["staff"], colos: ["AKL"], continents: ["OC" as const] };
  it.each([
    { name: "by segment", req: { headers: { "x-staff": "1" } }, want: true },
    { name: "by colo", req: { cf: { colo: "AKL" } }, want: true },
    { name: "by continent", req: { cf: { continent: "OC" } }, want: true },
    { name: "in none", req: { cf: { colo: "FRA", continent: "EU" } }, want: false },
  ])("$name", ({ req, want }) => {
    expect(ev(req).audience(audience)).toBe(want);
  });
});
