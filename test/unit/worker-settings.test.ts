// The Worker's env vars: parsed with defaults, a bad value rejected by name with its
// default serving, and logged once however many requests see it.
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS, WorkerSettingsCache, parseWorkerSettings } from "../../src/config/worker-settings.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("parseWorkerSettings", () => {
  it.each([
    [{}, { configRefreshMs: 10_000, adminBasePath: "/__canary" }],
    [{ CONFIG_REFRESH_MS: "", ADMIN_BASE_PATH: " " }, { configRefreshMs: 10_000, adminBasePath: "/__canary" }],
    [{ CONFIG_REFRESH_MS: "0", ADMIN_BASE_PATH: "/ops/canary" }, { configRefreshMs: 0, adminBasePath: "/ops/canary" }],
    [{ CONFIG_REFRESH_MS: "30000" }, { configRefreshMs: 30_000, adminBasePath: "/__canary" }],
  ])("%j -> %j", (vars, settings) => {
    expect(parseWorkerSettings(vars)).toEqual({ settings, problems: [] });
  });

  it.each([
    [{ CONFIG_REFRESH_MS: "10s" }, "CONFIG_REFRESH_MS"],
    [{ CONFIG_REFRESH_MS: "-1" }, "CONFIG_REFRESH_MS"],
    [{ CONFIG_REFRESH_MS: "1.5" }, "CONFIG_REFRESH_MS"],
    [{ CONFIG_REFRESH_MS: "3600001" }, "CONFIG_REFRESH_MS"],
    [{ ADMIN_BASE_PATH: "__canary" }, "ADMIN_BASE_PATH"],
    [{ ADMIN_BASE_PATH: "/__canary/" }, "ADMIN_BASE_PATH"],
    [{ ADMIN_BASE_PATH: "/" }, "ADMIN_BASE_PATH"],
    [{ ADMIN_BASE_PATH: "/a b" }, "ADMIN_BASE_PATH"],
  ])("rejects %j by name and keeps the default", (vars, name) => {
    const { settings, problems } = parseWorkerSettings(vars);
    expect(settings).toEqual(DEFAULT_SETTINGS);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} ".*" must .*; using `));
  });
});

describe("WorkerSettingsCache", () => {
  it("parses once per distinct vars and logs a rejected value once", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const cache = new WorkerSettingsCache();
    const bad = { CONFIG_REFRESH_MS: "soon", ADMIN_BASE_PATH: "/__canary" };
    const first = cache.of(bad);
    expect(cache.of({ ...bad })).toBe(first);
    expect(first.configRefreshMs).toBe(DEFAULT_SETTINGS.configRefreshMs);
    expect(cache.of({ CONFIG_REFRESH_MS: "0" }).configRefreshMs).toBe(0);
    cache.of(bad);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0]![0])).toContain('CONFIG_REFRESH_MS \\"soon\\"');
  });
});
