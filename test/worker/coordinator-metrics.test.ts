// The coordinator's side of metric evidence, called directly: a delta's per-user events
// count once however often it is delivered, a malformed one is refused whole, and the
// per-user table starts over when an operator restarts the rollout's evidence (set_step).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import { emptyEvidence, type Evidence, type MetricEvidence } from "../../src/core/evidence.js";
import { routeHash } from "../../src/core/route-hash.js";
import { clock, config, putConfigAndSync, route, type RouteInput } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 30_000, coldWaitMs: 500 };

async function setup(id: string, extra: Partial<RouteInput> = {}) {
  const doc = {
    ...config(route({ id, release: `${id}-1`, weight: 50, match: { hosts: [`${id}.test`] }, metrics: [{ name: "checkout", kind: "conversion", better: "higher", mode: "observe" }], ...extra })),
    sync: SYNC,
  };
  await putConfigAndSync(doc);
  const parsed = validateConfig(doc);
  if (!parsed.ok) throw new Error(parsed.error.join("; "));
  const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
  const hash = routeHash(parsed.value.routes[0]!);
  const sync = (seq: number, metrics: unknown) => {
    clock.advance(300);
    const delta: Evidence = { ...emptyEvidence(), metrics: metrics as MetricEvidence };
    return stub.sync({ routeId: id, isolateId: `${id}-isolate`, seq, configHash: hash, release: `${id}-1`, delta });
  };
  const checkout = async () => (await stub.status(id)).metrics!.find((m) => m.name === "checkout")!;
  return { stub, sync, checkout };
}

const someUsers: MetricEvidence = { stable: { "1": {}, "2": { checkout: [1, 1] } }, canary: { "3": { checkout: [2, 2] }, "4": {}, "5": {} } };

describe("Coordinator: per-user metric evidence", () => {
  it("counts a delta's users once however often it is delivered (a retry under the same seq)", async () => {
    const { sync, checkout } = await setup("cm-dup");
    expect((await sync(1, someUsers)).duplicate).toBe(false);
    expect((await sync(1, someUsers)).duplicate).toBe(true);
    const c = await checkout();
    expect([c.stable.users, c.stable.mean, c.canary.users]).toEqual([2, 0.5, 3]);
    expect(c.canary.mean).toBeCloseTo(1 / 3, 12);
    expect(c.interval).toBeNull();
    expect(c.rejects).toBe(false);
    // The next delta of a user already counted changes their value, not the user count.
    await sync(2, { stable: { "1": { checkout: [1, 1] } }, canary: {} });
    const d = await checkout();
    expect([d.stable.users, d.stable.mean]).toEqual([2, 1]);
  });

  it("refuses a delta with malformed metric evidence and applies none of it", async () => {
    const { sync, checkout, stub } = await setup("cm-bad");
    await sync(1, someUsers);
    const r = await sync(2, { stable: { "9": { checkout: [-1, 1] } }, canary: { "10": {} } });
    expect(r.refused).toMatch(/metrics/);
    const c = await checkout();
    expect([c.stable.users, c.canary.users]).toEqual([2, 3]);
    expect((await stub.status("cm-bad")).metricUsers).toEqual({ users: 5, limit: 200_000, overflow: 0 });
  });

  it("counts a delta's overflow in status", async () => {
    const { sync, stub } = await setup("cm-overflow");
    await sync(1, { ...someUsers, overflow: 7 });
    expect((await stub.status("cm-overflow")).metricUsers!.overflow).toBe(7);
  });

  it("starts the per-user table over when set_step restarts the rollout's evidence", async () => {
    const { sync, checkout, stub } = await setup("cm-setstep", { weight: undefined, steps: { weights: [10, 50] } });
    await sync(1, someUsers);
    expect((await checkout()).canary.users).toBe(3);
    const moved = await stub.command("cm-setstep", { type: "set_step", stepIndex: 1, reason: "test" });
    expect(moved.ok).toBe(true);
    const c = await checkout();
    expect([c.stable.users, c.canary.users]).toEqual([0, 0]);
    await sync(2, { stable: {}, canary: { "8": { checkout: [1, 1] } } });
    expect((await checkout()).canary).toEqual({ users: 1, mean: 1 });
  });
});
