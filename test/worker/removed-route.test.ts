import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EventsResponse } from "../../src/core/admin-protocol.js";
import { admin, clock, config, putConfig, route } from "./helpers.js";

const keep = route({ id: "keep", weight: 0, match: { hosts: ["keep.test"] } });
const orphans = ["orphan-a", "orphan-b"].map((id) => route({ id, release: `${id}-1`, weight: 10, match: { hosts: [`${id}.test`] } }));

/** Alarm runs of `ids` over `seconds` of driven time, one alarm window per second. */
async function alarmsOver(ids: string[], seconds: number): Promise<number> {
  let runs = 0;
  for (let s = 0; s < seconds; s++) {
    clock.advance(1000);
    for (const id of ids) if (await runDurableObjectAlarm(env.COORDINATOR.get(env.COORDINATOR.idFromName(id)))) runs++;
  }
  return runs;
}

describe("Coordinator.alarm: a removed route's coordinator stops", () => {
  it("finishes, records an audit entry, stops its alarm, keeps its audit log readable, and wakes when the route is back", async () => {
    await putConfig(config(keep, ...orphans));
    for (const r of orphans) expect((await env.COORDINATOR.get(env.COORDINATOR.idFromName(r.id)).status(r.id)).state?.phase).toBe("progressing");
    expect(await alarmsOver(orphans.map((r) => r.id), 3)).toBe(6); // active: a 1 s tick each

    await putConfig(config(keep)); // the routes are gone
    const ids = orphans.map((r) => r.id);
    // Within CONFIG_MAX_AGE_MS (10 s) each notices, records it and stops: then no alarm at idle.
    const noticing = await alarmsOver(ids, 12);
    console.log(`alarm runs of 2 removed routes: ${noticing} while noticing (12 s)`);
    const idle = await alarmsOver(ids, 60);
    console.log(`alarm runs of 2 removed routes at idle over 60 s: ${idle}`);
    expect(noticing).toBeLessThanOrEqual(2 * 11);
    expect(idle).toBe(0);
    for (const id of ids) {
      const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
      expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
    }

    const events = await admin<EventsResponse>("/events?route=orphan-a");
    expect(events.status).toBe(200);
    expect(events.json.events[0]).toMatchObject({ route: "orphan-a", event: "route_removed" });
    expect(events.json.events.some((e) => e.event === "config")).toBe(true);
    expect((await admin("/events?route=never-existed")).status).toBe(404);

    // Back in the config: the next call (a sync, the status API) wakes it.
    await putConfig(config(keep, ...orphans));
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("orphan-a"));
    expect((await stub.status("orphan-a")).removedAt).toBeUndefined();
    expect(await alarmsOver(["orphan-a"], 2)).toBe(2);
    expect((await stub.events(1))[0]).toMatchObject({ event: "route_restored" });
  });
});
