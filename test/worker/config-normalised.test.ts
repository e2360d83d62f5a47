import { afterEach, describe, expect, it, vi } from "vitest";
import { admin, config, putConfig, route, send } from "./helpers.js";

// Issue #15 item 1 through the real entry: a normalised field is what the proxy uses
// and what status shows; a duplicate key is logged once per document, not per refresh.
describe("ConfigCache: normalised fields and duplicate-key warnings", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("proxies to an origin written with surrounding whitespace and shows it trimmed in status", async () => {
    const doc = config(route({ id: "ws", weight: 100, release: "ws-1" }));
    const canary = doc.routes[0]!.canary.origin;
    doc.routes[0]!.canary.origin = `  ${canary} \n`;
    await putConfig(doc);
    const r = await send("/hello");
    expect(r.response.status).toBe(200);
    expect(r.variant).toBe("canary");
    const status = await admin<{ configError: string[] | null; routes: Array<{ id: string; config: { canary: { origin: string } } }> }>("/status");
    expect(status.json.configError).toBeNull();
    expect(status.json.routes.find((x) => x.id === "ws")?.config.canary.origin).toBe(canary);
  });

  it("logs a document's duplicate keys once per config cache, not once per refresh", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const text = JSON.stringify(config(route({ id: "dup", weight: 100, release: "dup-1" }))).replace('"weight":100', '"weight":0,"weight":100');
    const warnings = () =>
      warn.mock.calls.map((c) => JSON.parse(String(c[0])) as { msg: string; hash: string; warnings: string[] }).filter((l) => l.msg.includes("duplicate keys"));
    await putConfig(text);
    for (let i = 0; i < 5; i++) expect((await send(`/dup/${i}`)).response.headers.get("x-canary-release")).toBe("dup-1");
    const first = warnings();
    // The edge's cache, and the route coordinator's when it has re-read KV: at most one each.
    expect(first.length).toBeGreaterThanOrEqual(1);
    expect(first.length).toBeLessThanOrEqual(2);
    for (const line of first) {
      expect(line.hash).toBe(first[0]!.hash);
      expect(line.warnings).toEqual(["routes[0].weight appears more than once in its object; the last one is used"]);
    }
    // CONFIG_REFRESH_MS is 0 in tests: each request re-reads KV, none logs again.
    for (let i = 0; i < 10; i++) await send(`/dup/again/${i}`);
    expect(warnings()).toHaveLength(first.length);
  });
});
