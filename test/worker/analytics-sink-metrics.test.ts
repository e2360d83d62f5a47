// A metric event's Analytics Engine data point, in workerd: the layout documented in
// docs/reference.md "Analytics Engine schema" (metric points), written through the
// CompositeSink the entry builds, so a sink without recordMetric is skipped and a
// failing write never fails the caller.
import { describe, expect, it } from "vitest";
import type { MetricEvent } from "../../src/core/metrics/metric-event.js";
import { AE_SCHEMA_VERSION, AnalyticsSink, METRIC_POINT, toMetricDataPoint, userKey } from "../../src/edge/analytics-sink.js";
import { CompositeSink } from "../../src/edge/composite-sink.js";
import { capturingAE } from "./helpers.js";

const event = (over: Partial<MetricEvent> = {}): MetricEvent => ({
  routeId: "shop",
  release: "v2.4.0",
  variant: "canary",
  identity: "user-42@example.com",
  name: "checkout",
  value: 1,
  source: "origin",
  ...over,
});

const noMetrics = { record: () => undefined, recordShadow: () => undefined };

describe("AnalyticsSink.recordMetric", () => {
  it("writes one data point per metric event with the documented layout", async () => {
    const { ae, points } = capturingAE();
    const sink = new CompositeSink([new AnalyticsSink(ae), noMetrics]);
    await sink.recordMetric(event());
    await sink.recordMetric(event({ variant: "stable", name: "lcp", value: 1834.5, source: "script", identity: "c0ffee" }));
    expect(points).toHaveLength(2);
    const [checkout, lcp] = points as [AnalyticsEngineDataPoint, AnalyticsEngineDataPoint];
    expect(checkout.indexes).toEqual(["shop:metric:canary"]);
    expect(checkout.blobs).toEqual(["shop", METRIC_POINT, "v2.4.0", "", "", "", "", "0", "none", "checkout", "canary", "origin", userKey("user-42@example.com")]);
    expect(checkout.doubles).toEqual([0, 0, AE_SCHEMA_VERSION, -1, 1]);
    expect(lcp.indexes).toEqual(["shop:metric:stable"]);
    expect(lcp.blobs!.slice(9)).toEqual(["lcp", "stable", "script", userKey("c0ffee")]);
    expect(lcp.doubles![4]).toBe(1834.5);
  });

  it("never writes the identity itself: a 16-hex key, the same for the same user, different for another", () => {
    const key = userKey("user-42@example.com");
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(userKey("user-42@example.com")).toBe(key);
    expect(userKey("user-43@example.com")).not.toBe(key);
    expect(JSON.stringify(toMetricDataPoint(event()))).not.toContain("example.com");
  });

  it("cuts long route ids and names to 64 characters, as for requests", () => {
    const long = "r".repeat(63);
    const p = toMetricDataPoint(event({ routeId: long }));
    expect(p.blobs![0]).toBe(long);
    expect((p.indexes![0] as string).length).toBe(64);
  });

  it("writes nothing without the binding, and a failed write is dropped, not thrown", async () => {
    expect(() => new AnalyticsSink(undefined).recordMetric(event())).not.toThrow();
    const failing = { writeDataPoint: () => { throw new Error("limit"); } } as unknown as AnalyticsEngineDataset;
    expect(() => new AnalyticsSink(failing).recordMetric(event())).not.toThrow();
  });
});
