// The coordinator client's shadow side, in Node with a driven clock and a scripted
// coordinator: the mirrored share only while the state is trusted, the shadow arm of the
// delta, and mismatch samples (newest SAMPLES_PER_SYNC, resent with an unacknowledged delta).
import { describe, expect, it } from "vitest";
import type { RolloutState } from "../../src/core/rollout/state.js";
import { routeHash } from "../../src/core/route-hash.js";
import { SAMPLES_PER_SYNC, type ShadowOutcome } from "../../src/core/shadow/shadow-outcome.js";
import type { SyncRequest, SyncResponse } from "../../src/core/sync-protocol.js";
import { CoordinatorClient, type CoordinatorCall } from "../../src/edge/coordinator-client.js";
import { routeConfig } from "../support/route-fixture.js";

const route = routeConfig({ steps: { stages: [{ shadow: { percent: 20 } }, { percent: 50 }] } });
const sync = { intervalMs: 1000, staleAfterMs: 30_000, coldWaitMs: 500 };

function state(): RolloutState {
  return {
    routeId: "shop",
    release: "r1",
    mode: "steps",
    phase: "progressing",
    stepIndex: 0,
    stepStartedAt: 0,
    epoch: 1,
    configHash: routeHash(route),
    weights: [0, 50],
    lastChange: { at: 0, actor: "engine", event: "new_release", reason: "test" },
  };
}

function harness(fail: () => boolean = () => false) {
  let t = 1_000_000;
  const sent: SyncRequest[] = [];
  const call: CoordinatorCall = async (_id, req) => {
    sent.push(structuredClone(req));
    if (fail()) throw new Error("coordinator down");
    return { state: state(), duplicate: false, now: t } satisfies SyncResponse;
  };
  const client = new CoordinatorClient(() => "isolate-1", () => t);
  const pending: Promise<unknown>[] = [];
  const ask = async () => {
    const w = client.weight(route, sync, call, (p) => void pending.push(p));
    await w;
    await Promise.all(pending.splice(0));
  };
  return { client, sent, ask, advance: (ms: number) => (t += ms) };
}

const outcome = (kind: ShadowOutcome["kind"], path: string, o: Partial<ShadowOutcome> = {}): ShadowOutcome => ({
  routeId: "shop",
  release: "r1",
  method: "GET",
  path,
  kind,
  stableStatus: 200,
  canaryStatus: 200,
  stableMs: 10,
  canaryMs: 12,
  colo: "",
  country: "",
  identity: `id-${path}`,
  ...(kind === "mismatch" ? { part: "json" as const, detail: "items.0.price" } : {}),
  ...o,
});

describe("CoordinatorClient.shadow", () => {
  it("is the shadow stage's percent while the state is trusted, 0 before the first sync and once trust ran out", async () => {
    const h = harness();
    expect(h.client.shadow(route)).toBe(0);
    await h.ask();
    expect(h.client.shadow(route)).toBe(20);
    h.advance(sync.intervalMs + sync.coldWaitMs + 1);
    expect(h.client.shadow(route)).toBe(0);
  });

  it("is 0 for a route without stages, whatever the state", async () => {
    const h = harness();
    await h.ask();
    expect(h.client.shadow(routeConfig({ weight: 50 }))).toBe(0);
  });
});

describe("CoordinatorClient.recordShadow", () => {
  it("sends the shadow arm and the newest mismatch samples, and resends both with an unacknowledged delta", async () => {
    let down = false;
    const h = harness(() => down);
    await h.ask();
    h.client.recordShadow(outcome("match", "/a"));
    h.client.recordShadow(outcome("canary_error", "/b", { canaryStatus: 503 }));
    for (let i = 0; i < SAMPLES_PER_SYNC + 2; i++) h.client.recordShadow(outcome("mismatch", `/m${i}`));
    down = true;
    h.advance(sync.intervalMs);
    await h.ask();
    down = false;
    h.advance(sync.intervalMs);
    await h.ask();
    const [first, resent] = h.sent.slice(-2) as [SyncRequest, SyncRequest];
    expect(resent.seq).toBe(first.seq);
    expect(resent.mismatches).toEqual(first.mismatches);
    expect(first.delta.shadow).toMatchObject({ match: 1, canaryError: 1, mismatch: SAMPLES_PER_SYNC + 2, canaryOnly: 1, stableOnly: 0 });
    // Newest first, at most SAMPLES_PER_SYNC, no identity and no query in a sample.
    expect(first.mismatches!.map((s) => s.path)).toEqual(Array.from({ length: SAMPLES_PER_SYNC }, (_, i) => `/m${SAMPLES_PER_SYNC + 1 - i}`));
    expect(first.mismatches![0]).toEqual({ at: expect.any(Number), release: "r1", method: "GET", path: "/m6", part: "json", detail: "items.0.price", stableStatus: 200, canaryStatus: 200 });
    // Acknowledged: the next delta carries none.
    h.advance(sync.intervalMs);
    await h.ask();
    expect(h.sent.at(-1)!.mismatches).toBeUndefined();
    expect(h.sent.at(-1)!.delta.shadow).toBeUndefined();
  });

  it("counts a canary timeout as the canary failing alone, and a stable 5xx against a canary 200 as stable failing alone", async () => {
    const h = harness();
    await h.ask();
    h.client.recordShadow(outcome("canary_timeout", "/t", { canaryStatus: 0 }));
    h.client.recordShadow(outcome("mismatch", "/s", { stableStatus: 502, part: "status", detail: "stable 502, canary 200" }));
    h.advance(sync.intervalMs);
    await h.ask();
    expect(h.sent.at(-1)!.delta.shadow).toMatchObject({ canaryTimeout: 1, mismatch: 1, canaryOnly: 1, stableOnly: 1, referencePairs: 0 });
  });

  it("times only mirrors with a reference request, the canary's time divided by the route's shadow.latencyTolerance", async () => {
    const signsWith = async (latencyTolerance: number | undefined) => {
      const r = routeConfig({ steps: { stages: [{ shadow: { percent: 20 } }, { percent: 50 }] }, ...(latencyTolerance === undefined ? {} : { shadow: { latencyTolerance } }) });
      let t = 1_000_000;
      const sent: SyncRequest[] = [];
      const call: CoordinatorCall = async (_id, req) => {
        sent.push(structuredClone(req));
        return { state: { ...state(), configHash: routeHash(r) }, duplicate: false, now: t } satisfies SyncResponse;
      };
      const client = new CoordinatorClient(() => "isolate-1", () => t);
      const pending: Promise<unknown>[] = [];
      const ask = async () => {
        await client.weight(r, sync, call, (p) => void pending.push(p));
        await Promise.all(pending.splice(0));
      };
      await ask();
      // 130 ms against a simultaneous stable 100 ms: 1.3x, 1.18x at the default 1.1, 1x at tolerance 1.3.
      client.recordShadow(outcome("match", "/a", { canaryMs: 130, stableMs: 5, reference: { status: 200, ms: 100 } }));
      // No reference: never timed, however the user's stable time compares.
      client.recordShadow(outcome("match", "/b", { canaryMs: 130, stableMs: 5 }));
      t += sync.intervalMs;
      await ask();
      const sh = sent.at(-1)!.delta.shadow!;
      return [sh.referencePairs, sh.refCanarySlowerMid];
    };
    expect(await signsWith(undefined)).toEqual([1, 1]); // default 1.1: 1.18x is slower
    expect(await signsWith(1.3)).toEqual([1, 0]);
  });
});
