import { describe, expect, it } from "vitest";
import { AE_SCHEMA_VERSION } from "../../src/edge/analytics-sink.js";
import { config, putConfigAndSync, route, send } from "./helpers.js";

describe("AnalyticsSink through the entry", () => {
  it("writes one data point per request with the documented positional schema", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "ae-1" })), sync: { intervalMs: 100 } });
    const points: AnalyticsEngineDataPoint[] = [];
    const fake = { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) } as AnalyticsEngineDataset;
    await send("/ok", { envOverrides: { CANARY_AE: fake } });
    await send("/status/503", { envOverrides: { CANARY_AE: fake } });
    expect(points).toHaveLength(2);
    const [ok, failed] = points as [AnalyticsEngineDataPoint, AnalyticsEngineDataPoint];
    expect(ok.indexes).toEqual(["www:canary"]);
    expect(ok.blobs).toEqual(["www", "canary", "ae-1", "", "", "GET", "2xx", "0", "none"]);
    expect(ok.doubles![1]).toBe(200);
    expect(ok.doubles![2]).toBe(AE_SCHEMA_VERSION);
    expect(ok.doubles![0]).toBeGreaterThanOrEqual(0);
    expect(ok.doubles![3]).toBeGreaterThan(0); // content-length of the JSON echo
    // the canary answered 503, stable served the user: a canary failure with fallback
    expect(failed.blobs).toEqual(["www", "canary", "ae-1", "", "", "GET", "5xx", "1", "status"]);
    expect(failed.doubles![1]).toBe(503);
  });

  it("records the exact response size, re-wrapped or handed through untouched, and the body arrives whole", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const fake = { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) } as AnalyticsEngineDataset;
    const size = 256 * 1024;
    for (const exposeHeaders of [true, false]) {
      await putConfigAndSync({ ...config(route({ weight: 100, release: `size-${exposeHeaders}`, exposeHeaders })), sync: { intervalMs: 100 } });
      // With a cookie and no variant headers the origin's response is returned as it is.
      const r = await send(`/bytes?n=${size}`, { envOverrides: { CANARY_AE: fake }, headers: { cookie: "canary_id=AAAAAAAAAAAAAAAAAAAAAA" } });
      expect(r.response.headers.get("x-canary-variant")).toBe(exposeHeaders ? "canary" : null);
      expect(r.body.length).toBe(size);
      expect(points.at(-1)!.doubles![3]).toBe(size);
    }
  });

  it("writes nothing and fails nothing when the binding is absent", async () => {
    const r = await send("/ok", { envOverrides: { CANARY_AE: undefined } });
    expect(r.response.status).toBe(200);
  });
});
