// examples/metrics.json: a production-shaped route with three metric guardrails and the
// injected script on, valid as the docs (docs/metrics.md) present it, with the defaults
// the docs promise filled in.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import { metricTolerance } from "../../src/core/metrics/metric-stats.js";
import { runCli } from "./cli-harness.js";

describe("examples/metrics.json", () => {
  it("is valid and lists its route", async () => {
    const r = await runCli(["validate", "examples/metrics.json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("examples/metrics.json: valid, 1 route");
    expect(r.out).toMatch(/shop\s+shop-2026-06-01\s+steps\s+1% > 5% > 25% > 50% > 100%/);
  });

  it("has three guardrails (conversion, quality mean, js_error per user) and the script injected, on verifiable own-cookie identities", () => {
    const parsed = validateConfig(JSON.parse(readFileSync("examples/metrics.json", "utf8")));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const route = parsed.value.routes[0]!;
    expect(route.sticky.source).toBe("own-cookie");
    expect(route.metrics.map((m) => [m.name, m.kind, m.better, m.mode, metricTolerance(m)])).toEqual([
      ["checkout", "conversion", "higher", "guardrail", 0.05],
      ["quality", "mean", "higher", "guardrail", 0.02],
      ["js_error", "rate-per-user", "lower", "guardrail", 0.1],
    ]);
    expect(route.metricSources).toEqual({ originHeader: "x-canary-metrics", beacon: false, inject: true, webVitals: false, errors: true, maxEventsPerUser: 50 });
  });
});
