// The coordinator client's ring side, in Node with a driven clock and a scripted
// coordinator: rings only while the state is trusted and its plan is the isolate's, and
// record() puts a ring's outcomes in that ring with the identity hash, failing or not.
import { describe, expect, it } from "vitest";
import { identityHash } from "../../src/core/evidence.js";
import type { Outcome } from "../../src/core/outcome.js";
import type { Phase, RolloutState } from "../../src/core/rollout/state.js";
import { routeHash } from "../../src/core/route-hash.js";
import type { SyncRequest, SyncResponse } from "../../src/core/sync-protocol.js";
import { CoordinatorClient, type CoordinatorCall } from "../../src/edge/coordinator-client.js";
import { routeConfig } from "../support/route-fixture.js";

const route = routeConfig({ steps: { stages: [{ colos: ["AKL"], percent: 100 }, { continents: ["OC"], percent: 50 }, { percent: 5 }] } });
const sync = { intervalMs: 1000, staleAfterMs: 30_000, coldWaitMs: 500 };

function harness(phase: Phase = "progressing", stepIndex = 1, configHash = routeHash(route), stages?: string[]) {
  let t = 1_000_000;
  const sent: SyncRequest[] = [];
  const st: RolloutState = {
    routeId: "shop",
    release: "r1",
    mode: "steps",
    phase,
    stepIndex,
    stepStartedAt: 0,
    epoch: 1,
    configHash,
    weights: [0, 0, 5],
    ...(stages ? { stages } : {}),
    lastChange: { at: 0, actor: "engine", event: "advance", reason: "test" },
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
  return { client, sent, ask, advance: (ms: number) => (t += ms) };
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

describe("CoordinatorClient.rings", () => {
  it("gives the plan's rings so far while the state is trusted, none before the first sync and after trust ran out", async () => {
    const h = harness();
    expect(h.client.rings(route)).toEqual([]);
    await h.ask();
    expect(h.client.rings(route).map((r) => [r.key, r.percent])).toEqual([
      ["colo:AKL", 100],
      ["continent:OC", 50],
    ]);
    h.advance(sync.intervalMs + sync.coldWaitMs + 1);
    expect(h.client.rings(route)).toEqual([]);
  });

  it("gives none once rolled back, and none for a route without stages", async () => {
    const h = harness("rolled_back");
    await h.ask();
    expect(h.client.rings(route)).toEqual([]);
    expect(h.client.rings(routeConfig({ weight: 50 }))).toEqual([]);
  });

  it("gives none when the coordinator's plan differs from the isolate's up to the current step", async () => {
    const h = harness("progressing", 1, "other-hash", ["colo:SYD 100%", "continent:OC 50%", "5%"]);
    await h.ask();
    expect(h.client.rings(route)).toEqual([]);
    const same = harness("progressing", 1, "other-hash", ["colo:AKL 100%", "continent:OC 50%", "1%"]);
    await same.ask();
    expect(same.client.rings(route)).toHaveLength(2);
  });
});

describe("CoordinatorClient.record with rings", () => {
  it("counts a ring's outcomes in its ring with the identity hash, failing or not; others in the totals only", async () => {
    const h = harness();
    await h.ask();
    h.client.record(outcome({ ring: "colo:AKL", identity: "ann" }));
    h.client.record(outcome({ ring: "continent:OC", variant: "stable", identity: "bob" }));
    h.client.record(outcome({ identity: "eve" }));
    h.advance(sync.intervalMs);
    await h.ask();
    const delta = h.sent.at(-1)!.delta;
    expect(delta.canary.requests).toBe(2);
    expect(delta.stable.requests).toBe(1);
    expect(Object.keys(delta.rings ?? {}).sort()).toEqual(["colo:AKL", "continent:OC"]);
    expect(delta.rings!["colo:AKL"]!.canary.requests).toBe(1);
    expect(delta.rings!["continent:OC"]!.stable.requests).toBe(1);
    expect(delta.rings!["colo:AKL"]!.stable.requests).toBe(0);
  });

  it("a failing ring request is counted as its user's failure in the ring and in the totals", async () => {
    const h = harness();
    await h.ask();
    h.client.record(outcome({ ring: "colo:AKL", identity: "ann", status: 503 }));
    h.advance(sync.intervalMs);
    await h.ask();
    const delta = h.sent.at(-1)!.delta;
    expect(delta.rings!["colo:AKL"]!.canary.errors).toBe(1);
    expect(delta.rings!["colo:AKL"]!.canary.failedIds).toEqual([identityHash("ann")]);
    expect(delta.canary.failedIds).toEqual([identityHash("ann")]);
  });

  it("leaves forced outcomes out, ring or not", async () => {
    const h = harness();
    await h.ask();
    h.client.record(outcome({ ring: "colo:AKL", forced: true }));
    h.advance(sync.intervalMs);
    await h.ask();
    expect(h.sent.at(-1)!.delta.rings).toBeUndefined();
  });
});
