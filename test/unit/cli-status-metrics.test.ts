// `canary status` for a route with route.metrics: the metrics table from
// CoordinatorStatus.metrics (MetricVerdict[]), from a constructed status
// (test/fixtures/admin/status-metrics.json: admin/status.json with four metrics on shop,
// one failing guardrail, one failing observed metric, one ok, one without stable users);
// a server from before metrics sends none and the section is left out.
import { describe, expect, it } from "vitest";
import { renderStatus } from "../../scripts/cli/status.js";
import { renderWatchFrame } from "../../scripts/cli/watch.js";
import { metricMean, metricsTable, metricVerdictText, signedPercent } from "../../scripts/cli/status-view.js";
import type { StatusResponse } from "../../src/core/admin-protocol.js";
import { fixtureJson, runCli, startServer } from "./cli-harness.js";

const withMetrics = (): StatusResponse => structuredClone(fixtureJson("admin/status-metrics.json")) as StatusResponse;

describe("status metrics", () => {
  it("a metrics table: kind, mode, both arms' per-user means and users, difference, interval, tolerance, verdict", () => {
    const table = metricsTable(withMetrics());
    const lines = table.trim().split("\n");
    expect(lines[0]).toMatch(/^route\s+metric\s+kind\s+mode\s+stable mean\s+stable users\s+canary mean\s+canary users\s+difference\s+interval\s+tolerated\s+verdict$/);
    expect(lines).toHaveLength(5);
    // A conversion's mean is the share of users who converted; better higher: the tolerance is a drop.
    expect(table).toMatch(/^shop\s+checkout\s+conversion\s+guardrail\s+4\.12%\s+18,250\s+3\.43%\s+961\s+-16\.75%\s+-31\.05% \.\. -6\.12%\s+-5\.00%\s+FAILS$/m);
    expect(table).toMatch(/^shop\s+quality\s+mean\s+guardrail\s+0\.824\s+9,120\s+0\.831\s+480\s+\+0\.86%\s+-1\.53% \.\. \+3\.31%\s+-2\.00%\s+ok$/m);
    // better lower: the tolerance is an increase; an observed metric worse than tolerated is said, not acted on.
    expect(table).toMatch(/^shop\s+js_error\s+rate-per-user\s+observe\s+0\.0210\s+18,250\s+0\.0458\s+961\s+\+118\.10%\s+\+40\.20% \.\. \+235\.00%\s+\+10\.00%\s+worse \(observed\)$/m);
    // No stable users yet: no difference, no interval.
    expect(table).toMatch(/^shop\s+lcp\s+mean\s+guardrail\s+-\s+0\s+1834\.5\s+12\s+-\s+-\s+\+5\.00%\s+no data$/m);
  });

  it("an unbounded interval says so once both arms have users", () => {
    const status = withMetrics();
    const quality = status.routes[0]!.coordinator.metrics![1]!;
    quality.interval = null;
    expect(metricsTable(status)).toMatch(/^shop\s+quality\s+.*\+0\.86%\s+unbounded\s+-2\.00%\s+ok$/m);
  });

  it("comes after the evidence in status, and is left out for a server from before metrics", () => {
    const text = renderStatus(withMetrics(), Date.now());
    expect(text).toContain("\nMetrics (per-user means; difference: canary relative to stable, with its interval; tolerated: the guardrail's limit):\n");
    expect(text.indexOf("Current step, per variant:")).toBeLessThan(text.indexOf("Metrics ("));
    const older = fixtureJson("admin/status.json") as StatusResponse;
    expect(older.routes.every((r) => r.coordinator.metrics === undefined)).toBe(true);
    expect(metricsTable(older)).toBe("");
    expect(renderStatus(older, Date.now())).not.toContain("Metrics (");
  });

  it("watch shows the same table, and none for a server from before metrics", () => {
    const frame = (status: StatusResponse): string => renderWatchFrame({ base: "http://x/__canary", now: Date.now(), intervalMs: 2000, color: false, status });
    expect(frame(withMetrics())).toMatch(/\nMetrics\nroute\s+metric\s+kind/);
    expect(frame(withMetrics())).toMatch(/^shop\s+checkout\s+.*FAILS$/m);
    expect(frame(fixtureJson("admin/status.json") as StatusResponse)).not.toContain("\nMetrics\n");
  });

  it("formats by kind and sign", () => {
    expect(metricMean("conversion", 0.5)).toBe("50.00%");
    expect(metricMean("mean", 0.81234)).toBe("0.812");
    expect(metricMean("rate-per-user", 2)).toBe("2.00");
    expect(metricMean("mean", null)).toBe("-");
    expect(signedPercent(-0.05)).toBe("-5.00%");
    expect(signedPercent(0)).toBe("0.00%");
    expect(signedPercent(null)).toBe("-");
    const m = withMetrics().routes[0]!.coordinator.metrics![0]!;
    expect(metricVerdictText({ ...m, rejects: false })).toBe("ok");
  });

  it("canary status against an admin API that reports metrics prints the table", async () => {
    const token = "metrics-token";
    const api = await startServer((req) =>
      req.headers.authorization === `Bearer ${token}` && req.url === "/__canary/api/status" ? { status: 200, json: fixtureJson("admin/status-metrics.json") } : { status: 404, json: { status: 404, error: "no" } },
    );
    try {
      const r = await runCli(["status"], { env: { CANARY_URL: api.url, CANARY_ADMIN_TOKEN: token } });
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^shop\s+checkout\s+conversion\s+guardrail\s+.*FAILS$/m);
      const json = await runCli(["status", "--json"], { env: { CANARY_URL: api.url, CANARY_ADMIN_TOKEN: token } });
      expect((JSON.parse(json.out) as StatusResponse).routes[0]!.coordinator.metrics).toHaveLength(4);
    } finally {
      await api.close();
    }
  });
});
