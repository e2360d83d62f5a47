// The coordinator client's trailing sync, in Node with a driven clock: outcomes recorded
// after the last request-started sync of a burst reach the coordinator at the next
// interval boundary, without a request to carry them, and never more than one sync per
// interval.
import { describe, expect, it } from "vitest";
import type { Outcome } from "../../src/core/outcome.js";
import type { RolloutState } from "../../src/core/rollout/state.js";
import { routeHash } from "../../src/core/route-hash.js";
import type { SyncRequest, SyncResponse } from "../../src/core/sync-protocol.js";
import { CoordinatorClient, type CoordinatorCall } from "../../src/edge/coordinator-client.js";
import { routeConfig } from "../support/route-fixture.js";

const route = routeConfig({ weight: 50 });

function state(): RolloutState {
  return {
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
}

function harness(intervalMs = 1000) {
  const sync = { intervalMs, staleAfterMs: 30_000, coldWaitMs: 500 };
  let t = 1_000_000;
  const sent: SyncRequest[] = [];
  const waits: number[] = [];
  const call: CoordinatorCall = async (_id, req) => {
    sent.push(structuredClone(req));
    return { state: state(), duplicate: false, now: t } satisfies SyncResponse;
  };
  // The wait moves the driven clock, as time passing would.
  const client = new CoordinatorClient(() => "isolate-1", () => t, () => undefined, async (ms) => {
    waits.push(ms);
    t += ms;
  });
  const ask = async () => {
    const pending: Promise<unknown>[] = [];
    await client.weight(route, sync, call, (p) => void pending.push(p));
    await Promise.all(pending);
  };
  return { client, sent, waits, ask, advance: (ms: number) => (t += ms), now: () => t };
}

const outcome = (i: number): Outcome => ({
  routeId: "shop",
  variant: i % 2 ? "canary" : "stable",
  release: "r1",
  method: "GET",
  status: 200,
  originMs: 20,
  fallback: false,
  errorKind: "none",
  colo: "",
  country: "",
  bytes: 10,
  forced: false,
  identity: `id-${i}`,
});

describe("CoordinatorClient trailing sync", () => {
  it("delivers the last outcomes of a burst at the next interval boundary, once", async () => {
    const h = harness();
    await h.ask(); // the request's own sync, at t0
    expect(h.sent).toHaveLength(1);
    const t0 = h.now();
    h.advance(100);
    const first = h.client.record(outcome(1));
    expect(first).toBeInstanceOf(Promise);
    // Only one trailing sync per route: the burst's other outcomes join it.
    for (let i = 2; i <= 5; i++) expect(h.client.record(outcome(i))).toBeUndefined();
    await first;
    expect(h.sent).toHaveLength(2);
    expect(h.now()).toBe(t0 + 1000); // waited for the boundary, not less
    const delta = h.sent[1]!.delta;
    expect(delta.stable.requests + delta.canary.requests).toBe(5);
  });

  it("sends nothing when a request's own sync took the outcomes first", async () => {
    const h = harness();
    await h.ask();
    h.advance(100);
    const trailing = h.client.record(outcome(1));
    h.advance(1000);
    await h.ask(); // due: this request syncs and carries the outcome
    expect(h.sent).toHaveLength(2);
    await trailing;
    expect(h.sent).toHaveLength(2);
  });

  it("does not hold a request past what waitUntil allows when the interval is long", async () => {
    const h = harness(10_000);
    await h.ask();
    expect(h.client.record(outcome(1))).toBeUndefined();
    expect(h.waits).toEqual([]);
  });
});
