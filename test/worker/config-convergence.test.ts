import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONFIG_KEY } from "../../src/config/config-cache.js";
import type { StatusResponse } from "../../src/core/admin-protocol.js";
import { admin, clock, config, loggedErrors, putConfigAndSync, route, send, variantsOf } from "./helpers.js";

const SYNC = { intervalMs: 1000, staleAfterMs: 60_000, coldWaitMs: 500 };
const headerSticky = { source: "header" as const, name: "x-user-id" };

describe("Coordinator.sync: edge and coordinator converge on one config", () => {
  it("a valid document followed within a second by an invalid one: the coordinator adopts the edge's last good config", async () => {
    const id = "conv";
    const doc = (weight: number) => ({ ...config(route({ id, weight, release: "conv-1", sticky: headerSticky })), sync: SYNC });
    await putConfigAndSync(doc(0));
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
    expect((await stub.status(id)).state?.phase).toBe("idle");

    // The valid document: the edge reads it (two requests: one triggers the refresh),
    // within the sync interval, so the coordinator has not been told yet.
    await env.CANARY_CONFIG.put(CONFIG_KEY, JSON.stringify(doc(50)));
    await send("/__warm");
    await send("/__warm");
    // ...and within the second an invalid one, which every reader rejects.
    await env.CANARY_CONFIG.put(CONFIG_KEY, JSON.stringify({ ...doc(50), version: 99 }));
    const logged = await loggedErrors(async () => {
      await send("/__warm");
      await send("/__warm");
      // One sync interval later, both sides serve the edge's last good config.
      clock.advance(SYNC.intervalMs);
      await send("/__warm");
    });
    expect(logged.every((l) => l.msg === "edge-canary config rejected; last good config keeps serving")).toBe(true);

    const coordinator = await stub.status(id);
    expect(coordinator.state?.phase).toBe("progressing");
    expect(coordinator.effectiveWeight).toBe(50);
    const variants = await variantsOf(80, "conv");
    expect(variants.filter((v) => v === "canary").length).toBeGreaterThan(15);
    const status = await admin<StatusResponse>("/status");
    const r = status.json.routes.find((x) => x.id === id)!;
    expect(r.coordinator.configHash).toBe(r.coordinator.state?.configHash);
    expect(r.isolate?.configDiverged).toBeUndefined();
    expect(r.coordinator.configDiverged).toBeUndefined();
    const events = await stub.events(5);
    expect(events[0]).toMatchObject({ event: "config", toPhase: "progressing" });
    expect(events[0]!.reason).toMatch(/adopted from an isolate/);
  });

  it("an isolate older than its coordinator keeps its config but serves no more than the coordinator allows, and both say so", async () => {
    const id = "conv-old";
    const doc = (weight: number) => ({ ...config(route({ id, weight, release: "old-1", sticky: headerSticky })), sync: SYNC });
    await putConfigAndSync(doc(80));
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
    // The coordinator alone reads the next valid document (no request reaches the edge)...
    await env.CANARY_CONFIG.put(CONFIG_KEY, JSON.stringify(doc(10)));
    clock.advance(10_000);
    expect((await stub.status(id)).effectiveWeight).toBe(10);
    // ...and the edge only the invalid one after it: it keeps weight 80, read earlier.
    await env.CANARY_CONFIG.put(CONFIG_KEY, JSON.stringify({ ...doc(10), version: 99 }));
    let canary = 0;
    await loggedErrors(async () => {
      await send("/__warm");
      clock.advance(SYNC.intervalMs);
      await send("/__warm");
      canary = (await variantsOf(200, "old")).filter((v) => v === "canary").length;
    });
    expect(canary).toBeLessThan(45); // ~10% of 200, not ~80%
    const status = await admin<StatusResponse>("/status");
    const r = status.json.routes.find((x) => x.id === id)!;
    expect(r.config.weight).toBe(80);
    expect(r.coordinator.effectiveWeight).toBe(10);
    expect(r.isolate?.configDiverged).toMatch(/^config diverged: edge [0-9a-f]{8}, coordinator [0-9a-f]{8}$/);
    expect(r.coordinator.configDiverged).toBe(r.isolate?.configDiverged);
  });
});
