import { describe, expect, it } from "vitest";
import { MetricSchema } from "../../src/core/config/schema.js";
import { MAX_HEADER_CHARS, MAX_PAIRS, parseOriginMetrics } from "../../src/core/metrics/origin-header.js";

const metrics = ["quality", "tokens", "checkout"].map((name) => MetricSchema.parse({ name, kind: "mean", better: "higher" }));

describe("parseOriginMetrics", () => {
  it("reads name=value pairs of the route's metrics, in order", () => {
    expect(parseOriginMetrics("quality=0.82, tokens=312, checkout=1", metrics)).toEqual([
      { name: "quality", value: 0.82 },
      { name: "tokens", value: 312 },
      { name: "checkout", value: 1 },
    ]);
  });

  it("keeps a repeated name as two events and reads signs, fractions and exponents", () => {
    expect(parseOriginMetrics("checkout=1,checkout=1, quality=-.5, tokens=1e3", metrics)).toEqual([
      { name: "checkout", value: 1 },
      { name: "checkout", value: 1 },
      { name: "quality", value: -0.5 },
      { name: "tokens", value: 1000 },
    ]);
  });

  it("reads nothing without a header or without metrics", () => {
    expect(parseOriginMetrics(null, metrics)).toEqual([]);
    expect(parseOriginMetrics("", metrics)).toEqual([]);
    expect(parseOriginMetrics("checkout=1", [])).toEqual([]);
  });

  it("skips names outside route.metrics", () => {
    expect(parseOriginMetrics("revenue=10, checkout=1", metrics)).toEqual([{ name: "checkout", value: 1 }]);
  });

  it.each([
    ["no equals sign", "checkout"],
    ["empty name", "=1"],
    ["empty value", "checkout="],
    ["upper-case name", "Checkout=1"],
    ["name with a dash", "check-out=1"],
    ["prototype name", "__proto__=1"],
    ["constructor (not a metric)", "constructor=1"],
    ["NaN", "checkout=NaN"],
    ["Infinity", "checkout=Infinity"],
    ["overflowing exponent", "checkout=1e999"],
    ["hex", "checkout=0x10"],
    ["two equals", "checkout=1=2"],
    ["units", "checkout=1ms"],
    ["spaces inside", "checkout=1 2"],
    ["control characters", "checkout=\u00001"],
  ])("skips a malformed pair (%s) without throwing", (_, header) => {
    expect(parseOriginMetrics(header, metrics)).toEqual([]);
    expect(parseOriginMetrics(`${header}, tokens=5`, metrics)).toEqual([{ name: "tokens", value: 5 }]);
  });

  it("reads at most MAX_PAIRS pairs", () => {
    const header = Array.from({ length: MAX_PAIRS + 10 }, () => "checkout=1").join(",");
    expect(header.length).toBeLessThan(MAX_HEADER_CHARS);
    expect(parseOriginMetrics(header, metrics)).toHaveLength(MAX_PAIRS);
  });

  it("reads at most MAX_HEADER_CHARS characters and drops the pair cut there", () => {
    // Pairs of 13 characters ("tokens=31234,"): the cut lands inside a value.
    const header = "tokens=31234,".repeat(200);
    const out = parseOriginMetrics(header, metrics);
    expect(out.length).toBeLessThanOrEqual(MAX_PAIRS);
    expect(out.every((m) => m.value === 31234)).toBe(true);
    const long = `${"x".repeat(MAX_HEADER_CHARS)},checkout=1`;
    expect(parseOriginMetrics(long, metrics)).toEqual([]);
  });

  it("drops a value cut at MAX_HEADER_CHARS rather than read a shorter number", () => {
    const pad = `quality=1,${" ".repeat(MAX_HEADER_CHARS - 10 - 8)}`;
    const header = `${pad}tokens=312`;
    expect(header.length).toBe(MAX_HEADER_CHARS + 2);
    expect(parseOriginMetrics(header, metrics)).toEqual([{ name: "quality", value: 1 }]);
  });

  it("never throws on hostile input", () => {
    for (const h of [",,,,", "=,=,=", "\uffff=\ud800", "a".repeat(100_000), "checkout=1,".repeat(10_000), "checkout==1", " , checkout = 1 , "]) {
      expect(() => parseOriginMetrics(h, metrics)).not.toThrow();
    }
    expect(parseOriginMetrics(" , checkout = 1 , ", metrics)).toEqual([{ name: "checkout", value: 1 }]);
  });
});
