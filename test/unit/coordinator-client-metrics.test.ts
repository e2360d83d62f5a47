// The coordinator client's metric side, in Node with a driven clock and a scripted
// coordinator: every evidence request of a route with metrics exposes its user, events add
// [count, sum] per user and metric, and a delta is bounded per arm.
import { describe, expect, it } from "vitest";
import { identityHash, MAX_METRIC_USERS } from "../../src/core/evidence.js";
import type { MetricEvent } from "../../src/core/metrics/metric-event.js";
import type { Outcome } from "../../src/core/outcome.js";
import type { RolloutState } from "../../src/core/rollout/state.js";
import { routeHash } from "../../src/core/route-hash.js";
import type { RouteConfig } from "../../src/core/config/schema.js";
import type { SyncRequest, SyncResponse } from "../../src/core/sync-protocol.js";
import { CoordinatorClient, type CoordinatorCall } from "../../src/edge/coordinator-client.js";
import { routeConfig } from "../support/route-fixture.js";

const metricRoute = routeConfig({
  weight: 50,
  metrics: [
    { name: "checkout", kind: "conversion", better: "higher" },
    { name: "quality", kind: "mean", better: "higher" },
  ],
});
const plainRoute = routeConfig({ weight: 50 });
const sync = { intervalMs: 1000, staleAfterMs: 30_000, coldWaitMs: 500 };

function harness(route: RouteConfig) {
  let t = 1_000_000;
  const sent: SyncRequest[] = [];
  const st: RolloutState = {
    routeId: "shop",
    release: "r1",
    mode: "manual",
    phase: "progressing",
    stepIndex: 0,
    stepStartedAt: 0,
    epoch: 1,
    configHash: routeHash(route),
    weights: [50],
    lastChange: { at: 0, actor: "config", event: "config", reason: "test" },
  };
  const call: CoordinatorCall = async (_id, req) => {
    sent.push(structuredClone(req));
    return { state: st, duplicate: false, now: t } satisfies SyncResponse;
  };
  const client = new CoordinatorClient(() => "isolate-1", () => t);
  const pending: Promise<unknown>[] = [];
  const ask = async () => {
    await client.weight(route, sync, call, (p) => void pending.push(p));
    await Promise.all(pending.splice(0));
  };
  /** Cuts the pending delta and returns it. */
  const flush = async () => {
    t += sync.intervalMs;
    await ask();
    return sent.at(-1)!.delta;
  };
  return { client, sent, ask, flush };
}

const outcome = (o: Partial<Outcome>): Outcome => ({
  routeId: "shop",
  variant: "canary",
  release: "r1",
  method: "GET",
  status: 200,
  originMs: 12,
  fallback: false,
  errorKind: "none",
  colo: "AKL",
  country: "NZ",
  bytes: 10,
  forced: false,
  identity: "user-1",
  ...o,
});

const event = (e: Partial<MetricEvent>): MetricEvent => ({ routeId: "shop", release: "r1", variant: "canary", identity: "user-1", name: "checkout", value: 1, source: "origin", ...e });
const key = (id: string): string => String(identityHash(id));

describe("CoordinatorClient with route.metrics", () => {
  it("exposes every evidence request's user per arm ({}) and adds events as [count, sum]", async () => {
    const h = harness(metricRoute);
    await h.ask();
    h.client.record(outcome({ identity: "ann" }));
    h.client.record(outcome({ identity: "ann" }));
    h.client.record(outcome({ identity: "bob", variant: "stable" }));
    h.client.record(outcome({ identity: "eve", variant: "stable", status: 503 }));
    h.client.recordMetric(event({ identity: "ann", name: "quality", value: 0.5 }));
    h.client.recordMetric(event({ identity: "ann", name: "quality", value: 0.25 }));
    h.client.recordMetric(event({ identity: "bob", variant: "stable", name: "checkout", value: 1 }));
    const delta = await h.flush();
    expect(delta.metrics).toEqual({
      canary: { [key("ann")]: { quality: [2, 0.75] } },
      stable: { [key("bob")]: { checkout: [1, 1] }, [key("eve")]: {} },
    });
  });

  it("does not expose forced requests or client-caused outcomes", async () => {
    const h = harness(metricRoute);
    await h.ask();
    h.client.record(outcome({ identity: "pinned", forced: true }));
    h.client.record(outcome({ identity: "aborted", errorKind: "client_abort" }));
    h.client.record(outcome({ identity: "real" }));
    const delta = await h.flush();
    expect(Object.keys(delta.metrics!.canary)).toEqual([key("real")]);
  });

  it("drops events of another release and names the route does not define", async () => {
    const h = harness(metricRoute);
    await h.ask();
    h.client.record(outcome({ identity: "ann" }));
    h.client.recordMetric(event({ identity: "ann", release: "r0" }));
    h.client.recordMetric(event({ identity: "ann", name: "revenue" }));
    h.client.recordMetric(event({ identity: "ann", value: Number.NaN }));
    const delta = await h.flush();
    expect(delta.metrics).toEqual({ stable: {}, canary: { [key("ann")]: {} } });
  });

  it("drops events of a route it has not served", () => {
    const h = harness(metricRoute);
    expect(() => h.client.recordMetric(event({ routeId: "other" }))).not.toThrow();
  });

  it("keeps at most MAX_METRIC_USERS users per arm and delta; the rest are counted in overflow", async () => {
    const h = harness(metricRoute);
    await h.ask();
    for (let i = 0; i < MAX_METRIC_USERS + 10; i++) h.client.record(outcome({ identity: `u${i}` }));
    // A kept user's event still counts; a user past the cap is overflow, exposure and event alike.
    h.client.recordMetric(event({ identity: "u0" }));
    h.client.recordMetric(event({ identity: `u${MAX_METRIC_USERS + 5}` }));
    h.client.record(outcome({ identity: "s1", variant: "stable" }));
    const delta = await h.flush();
    expect(Object.keys(delta.metrics!.canary)).toHaveLength(MAX_METRIC_USERS);
    expect(delta.metrics!.canary[key("u0")]).toEqual({ checkout: [1, 1] });
    expect(delta.metrics!.overflow).toBe(11);
    expect(Object.keys(delta.metrics!.stable)).toEqual([key("s1")]);
    // The next delta starts with room again.
    h.client.record(outcome({ identity: "late" }));
    const next = await h.flush();
    expect(Object.keys(next.metrics!.canary)).toEqual([key("late")]);
    expect(next.metrics!.overflow).toBeUndefined();
  });

  it("a route without metrics carries no metric evidence", async () => {
    const h = harness(plainRoute);
    await h.ask();
    h.client.record(outcome({ identity: "ann" }));
    h.client.recordMetric(event({ identity: "ann" }));
    const delta = await h.flush();
    expect(delta.canary.requests).toBe(1);
    expect(delta.metrics).toBeUndefined();
  });

  it("an event alone makes a delta worth sending", async () => {
    const h = harness(metricRoute);
    await h.ask();
    const before = h.sent.length;
    h.client.recordMetric(event({ identity: "ann" }));
    const delta = await h.flush();
    expect(h.sent.length).toBe(before + 1);
    expect(h.sent.at(-1)!.seq).toBe(1);
    expect(delta.metrics!.canary[key("ann")]).toEqual({ checkout: [1, 1] });
  });
});
