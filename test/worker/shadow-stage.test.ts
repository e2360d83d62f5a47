// Shadow stages end to end on a real coordinator: syncs deliver mirrored-pair evidence
// (Evidence.shadow) and mismatch samples on a controlled clock; the engine advances a
// healthy shadow stage to the live stage, rolls a mismatching canary back with the audit
// reason naming the mismatches, and GET /routes/:id/shadow reports the comparison with the
// newest samples (bounded, sanitised, cleared on a new release).
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AuditEntry, CoordinatorStatus, ShadowReport } from "../../src/core/admin-protocol.js";
import { validateConfig } from "../../src/core/config/parse.js";
import { emptyEvidence, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { routeHash } from "../../src/core/route-hash.js";
import { emptyShadow, recordShadowOutcome } from "../../src/core/shadow/shadow-evidence.js";
import { SAMPLES_KEPT, type MismatchSample, type ShadowOutcome } from "../../src/core/shadow/shadow-outcome.js";
import type { SyncRequest } from "../../src/core/sync-protocol.js";
import { admin, clock, config, putConfigAndSync, route, type RouteInput } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 30_000, coldWaitMs: 500 };
let nextId = 1;

/** One sync's delta: `mirrors` mirrored pairs (a share `mismatch` of them mismatching, each a new identity; every 4th a timed reference pair) and stable traffic on the live arm. */
function pairs(mirrors: number, opts: { mismatch?: number; canaryFails?: number; stableMs?: number } = {}): Evidence {
  const d = emptyEvidence();
  const sh = (d.shadow = emptyShadow());
  for (let i = 0; i < mirrors; i++) {
    const id = nextId++;
    const stableMs = (opts.stableMs ?? 40) + (i % 7);
    recordOutcome(d, "stable", false, stableMs, id);
    const canaryFailed = opts.canaryFails !== undefined && i < mirrors * opts.canaryFails;
    const mismatched = !canaryFailed && opts.mismatch !== undefined && i % Math.round(1 / opts.mismatch) === 0;
    const o: ShadowOutcome = {
      routeId: "x",
      release: "x",
      method: "GET",
      path: "/api/items",
      kind: canaryFailed ? "canary_error" : mismatched ? "mismatch" : "match",
      stableStatus: 200,
      canaryStatus: canaryFailed ? 500 : 200,
      stableMs,
      canaryMs: stableMs + (i % 3) - 1, // within the timer floor: ties
      // Every 4th mirror is a reference pair (shadow.latencyPairs 0.25, the default).
      ...(i % 4 === 0 ? { reference: { status: 200, ms: stableMs } } : {}),
      colo: "AMS",
      country: "NL",
    };
    recordShadowOutcome(sh, o, false, canaryFailed, () => id);
  }
  return d;
}

function sample(release: string, at: number, extra: Record<string, unknown> = {}): MismatchSample {
  return { at, release, method: "GET", path: `/api/items/${at}?token=secret`, part: "json", detail: "$.price: 10 vs 12", stableStatus: 200, canaryStatus: 200, ...extra } as MismatchSample;
}

async function setup(id: string, release: string, over: Partial<RouteInput>) {
  const doc = { ...config(route({ id, release, match: { hosts: [`${id}.test`] }, ...over })), sync: SYNC };
  await putConfigAndSync(doc);
  const parsed = validateConfig(doc);
  if (!parsed.ok) throw new Error(parsed.error.join("; "));
  const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
  let seq = 0;
  const hash = routeHash(parsed.value.routes[0]!);
  const sync = async (delta: Evidence, mismatches?: MismatchSample[], stepMs = 1000) => {
    clock.advance(stepMs);
    const req: SyncRequest = { routeId: id, isolateId: `${id}-isolate`, seq: ++seq, configHash: hash, release, delta, ...(mismatches ? { mismatches } : {}) };
    const r = await stub.sync(req);
    await runDurableObjectAlarm(stub);
    return r;
  };
  return { stub, sync };
}

const stages = [{ shadow: { percent: 10 } }, { percent: 5 }, { percent: 100 }];
// A quick gate for a short test: odds 4 against 5x, judged within 10 s (as auto-rollout.test.ts).
const quick = { sloErrorRate: 0.05, latencyQuantile: 0.9, promotionOdds: 4, stepTargetSec: 10, promotionRatios: [5] };

describe("shadow stage on the coordinator", () => {
  it("advances a healthy shadow stage to the live stage, naming both stages, and says which stage it is in", async () => {
    const { stub, sync } = await setup("sh-ok", "sh-ok-1", { steps: { stages, minDurationSec: 5, minRequests: 200 }, guardrails: quick });
    const first = await stub.status("sh-ok");
    expect(first.state?.stages).toEqual(["shadow 10%", "5%", "100%"]);
    expect(first.step).toMatchObject({ index: 0, weight: 0, stage: "shadow 10%", kind: "shadow", shadowPercent: 10 });
    expect(first.effectiveWeight).toBe(0);
    let status: CoordinatorStatus = first;
    const holds: string[] = [];
    for (let k = 0; k < 40 && status.state?.stepIndex === 0; k++) {
      await sync(pairs(60));
      status = await stub.status("sh-ok");
      if (status.state?.stepIndex === 0 && status.lastDecision) holds.push(status.lastDecision.reason);
    }
    expect(status.state?.stepIndex, holds.slice(-2).join(" | ")).toBe(1);
    expect(holds.some((h) => /^hold: shadow 10%: step ran \d of 5 s/.test(h))).toBe(true); // minDurationSec applies
    expect(status.step).toMatchObject({ stage: "5%", kind: "live", weight: 5 });
    const advance = (await stub.events(10)).find((e: AuditEntry) => e.event === "advance")!;
    expect(advance.reason).toMatch(/^advance: from shadow 10% to 5%; shadow 10%: \d+ s, \d+ compared mirrors; /);
    expect(advance.reason).toMatch(/mismatches: mismatch rate 0% \(0 of \d+ compared, 0 users\)/);
    expect((advance.explanation as { shadow?: { compared: number } }).shadow?.compared).toBeGreaterThanOrEqual(200);
    expect(advance).toMatchObject({ step: 2, stage: "5%", weight: 5 });
    const start = (await stub.events(10)).find((e: AuditEntry) => e.event === "config")!;
    expect(start).toMatchObject({ step: 1, stage: "shadow 10%", weight: 0 });
  });

  it("rolls back a canary whose answers mismatch, the audit reason naming the mismatches", async () => {
    const { stub, sync } = await setup("sh-bad", "sh-bad-1", { steps: { stages, minDurationSec: 60, minRequests: 200 } });
    for (let k = 0; k < 20 && (await stub.status("sh-bad")).state?.phase === "progressing"; k++) await sync(pairs(200, { mismatch: 0.1 }));
    const s = await stub.status("sh-bad");
    expect(s.state?.phase).toBe("rolled_back");
    const rollback = (await stub.events(10)).find((e) => e.event === "rollback")!;
    expect(rollback.actor).toBe("engine");
    expect(rollback.reason).toMatch(/^rollback: shadow 10%: mismatch rate 10% \(\d+ of \d+ compared, \d+ users\) above maxMismatchRate 1%/);
    expect(rollback.step).toBe(1);
    expect(rollback.stage).toBe("shadow 10%");
  });

  it("rolls back a canary that fails where stable does not (paired errors)", async () => {
    const { stub, sync } = await setup("sh-err", "sh-err-1", { steps: { stages, minDurationSec: 60, minRequests: 200 } });
    for (let k = 0; k < 20 && (await stub.status("sh-err")).state?.phase === "progressing"; k++) await sync(pairs(200, { canaryFails: 0.05 }));
    expect((await stub.status("sh-err")).state?.phase).toBe("rolled_back");
    const rollback = (await stub.events(10)).find((e) => e.event === "rollback")!;
    expect(rollback.reason).toMatch(/^rollback: shadow 10%: failing users \(paired: canary-only vs stable-only failures\)/);
  });

  it("keeps the newest samples (bounded, sanitised), serves them with auth at GET /routes/:id/shadow, and clears them on a new release", async () => {
    const { stub, sync } = await setup("sh-samples", "sh-s-1", { steps: { stages, minDurationSec: 600, minRequests: 200 }, shadow: { maxMismatchRate: 0.5 } });
    const t0 = clock.now();
    for (let k = 0; k < 6; k++) {
      const batch = Array.from({ length: 5 }, (_, j) => sample("sh-s-1", t0 + k * 10 + j, j === 0 ? { cookie: "session=abc", authorization: "Bearer x" } : {}));
      await sync(pairs(40, { mismatch: 0.25 }), batch);
    }
    // A retried sync (same seq) adds no samples twice; another release's samples are not kept.
    const denied = await admin("/routes/sh-samples/shadow", { token: null });
    expect(denied.status).toBe(401);
    const r = await admin<ShadowReport>("/routes/sh-samples/shadow");
    expect(r.status).toBe(200);
    const report = r.json;
    expect(report).toMatchObject({ route: "sh-samples", release: "sh-s-1", stage: "shadow 10%" });
    expect(report.outcomes.match + report.outcomes.mismatch).toBe(240);
    expect(report.outcomes.mismatch).toBe(6 * 10);
    expect(report.mismatchRate).toBeCloseTo(0.25, 5);
    expect(report.latency.stable.p50).toBeGreaterThan(30);
    expect(report.latency.canary.p99).toBeGreaterThan(30);
    // Read on the reference pairs (every 4th mirror here), not on all mirrors against users' requests.
    expect(report.latency).toMatchObject({ source: "reference", pairs: 60 });
    expect(report.samples).toHaveLength(SAMPLES_KEPT);
    expect(report.samples[0]!.at).toBe(t0 + 54); // newest first
    expect(report.samples.at(-1)!.at).toBe(t0 + 20 + 0);
    for (const s of report.samples) {
      expect(s.path).not.toMatch(/\?|token/);
      expect(Object.keys(s).sort()).toEqual(["at", "canaryStatus", "detail", "method", "part", "path", "release", "stableStatus"]);
    }
    expect((await admin("/routes/nope/shadow")).status).toBe(404);
    // A new release: no samples, no outcomes from the old one.
    await putConfigAndSync({ ...config(route({ id: "sh-samples", release: "sh-s-2", match: { hosts: ["sh-samples.test"] }, steps: { stages, minDurationSec: 600, minRequests: 200 } })), sync: SYNC });
    clock.advance(10_000);
    const fresh = (await admin<ShadowReport>("/routes/sh-samples/shadow")).json;
    expect(fresh).toMatchObject({ release: "sh-s-2", stage: "shadow 10%", samples: [], mismatchRate: null });
    expect(fresh.outcomes.match).toBe(0);
    void stub;
  });

  it("takes samples only from a sync it applies (not a retried one) and only of the current release", async () => {
    const { stub } = await setup("sh-dedupe", "sh-d-1", { steps: { stages, minDurationSec: 600, minRequests: 200 } });
    const doc = validateConfig({ ...config(route({ id: "sh-dedupe", release: "sh-d-1", match: { hosts: ["sh-dedupe.test"] }, steps: { stages, minDurationSec: 600, minRequests: 200 } })), sync: SYNC });
    if (!doc.ok) throw new Error("config");
    const t0 = clock.now();
    const req: SyncRequest = { routeId: "sh-dedupe", isolateId: "dd", seq: 1, configHash: routeHash(doc.value.routes[0]!), release: "sh-d-1", delta: pairs(10, { mismatch: 0.5 }), mismatches: [sample("sh-d-1", t0), sample("other-release", t0 + 1)] };
    clock.advance(300);
    await stub.sync(req);
    await stub.sync(req); // retry: a duplicate
    const report = await stub.shadow("sh-dedupe");
    expect(report.samples.map((s) => s.at)).toEqual([t0]);
  });
});
