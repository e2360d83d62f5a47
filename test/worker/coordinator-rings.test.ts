import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CoordinatorStatus } from "../../src/core/admin-protocol.js";
import { validateConfig } from "../../src/core/config/parse.js";
import { emptyEvidence, identityHash, MAX_RINGS, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { routeHash } from "../../src/core/route-hash.js";
import { clock, config, putConfigAndSync, route } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 1500, coldWaitMs: 500 };
const headerSticky = { source: "header" as const, name: "x-user-id" };

function ringDoc(id: string, release: string) {
  return {
    ...config(
      route({
        id,
        release,
        sticky: headerSticky,
        steps: { stages: [{ segments: ["staff"], percent: 100 }, { continents: ["OC" as const], percent: 100 }, { percent: 1 }, { percent: 10 }], minDurationSec: 600 },
      }),
    ),
    segments: { staff: { header: "x-staff", equals: "1", trusted: true as const } },
    sync: SYNC,
  };
}

/** A delta as an isolate on the ring plan records it: staff and OC requests in their rings, everyone else in none. */
function ringDelta(seed: number): Evidence {
  const e = emptyEvidence();
  for (let i = 0; i < 6; i++) recordOutcome(e, "canary", i === 0, 25, identityHash(`staff-${i % 3}`), "staff");
  for (let i = 0; i < 40; i++) recordOutcome(e, "canary", false, 30, identityHash(`oc-${seed}-${i}`), "continent:OC");
  for (let i = 0; i < 200; i++) recordOutcome(e, "stable", i % 100 === 0, 30, identityHash(`rest-${seed}-${i}`));
  return e;
}

describe("Coordinator status: the plan and its rings", () => {
  it("shows every stage with the current one marked, and per ring of the exposure its traffic, users and baseline", async () => {
    const doc = ringDoc("rings", "ring-1");
    await putConfigAndSync(doc);
    const parsed = validateConfig(doc);
    if (!parsed.ok) throw new Error(parsed.error.join("; "));
    const hash = routeHash(parsed.value.routes[0]!);
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("rings"));
    const first = await stub.status("rings");
    expect(first.plan).toEqual([
      { label: "staff 100%", kind: "live", audience: "staff", current: true },
      { label: "continent:OC 100%", kind: "live", audience: "continent:OC", current: false },
      { label: "1%", kind: "live", current: false },
      { label: "10%", kind: "live", current: false },
    ]);
    expect(first.step).toMatchObject({ index: 0, stage: "staff 100%", audience: "staff", weight: 0 });
    expect(first.rings?.map((r) => r.key)).toEqual(["staff"]);
    // The operator moves to the country stage; isolates deliver ring evidence.
    const moved = await stub.command("rings", { type: "set_step", stepIndex: 1, reason: "to the country" });
    expect(moved.ok).toBe(true);
    for (let seq = 1; seq <= 2; seq++) {
      const r = await stub.sync({ routeId: "rings", isolateId: "ring-iso", seq, configHash: hash, release: "ring-1", delta: ringDelta(seq) });
      expect(r.refused).toBeUndefined();
    }
    await runDurableObjectAlarm(stub);
    const s: CoordinatorStatus = await stub.status("rings");
    expect(s.plan?.map((p) => p.current)).toEqual([false, true, false, false]);
    expect(s.step).toMatchObject({ index: 1, stage: "continent:OC 100%", audience: "continent:OC" });
    expect(s.rings).toEqual([
      { key: "staff", percent: 100, current: false, canary: { requests: 12, errors: 2, users: 3 }, stable: { requests: 0, errors: 0, users: 0 }, baseline: "all" },
      { key: "continent:OC", percent: 100, current: true, canary: { requests: 80, errors: 0, users: expect.any(Number) }, stable: { requests: 0, errors: 0, users: 0 }, baseline: "all" },
    ]);
    // Past 16 distinct users the count is an estimate (9.2% relative standard error): 80 users.
    expect(Math.abs(s.rings![1]!.canary.users! - 80)).toBeLessThanOrEqual(12);
    // The engine ran in a ring stage (everyone at 0%) and judged each ring against its baseline.
    const e = s.lastDecision?.explanation as unknown as { rings: Array<{ key: string; baseline: string; baselineText: string; current: boolean }> };
    expect(e.rings.map((r) => [r.key, r.baseline, r.current])).toEqual([
      ["staff", "all", false],
      ["continent:OC", "all", true],
    ]);
    expect(e.rings[1]!.baselineText).toContain("no stable users of its own");
    expect(s.lastDecision?.reason).toMatch(/^hold/);
    // Once the windows have closed, status keeps their sums and adds only newer windows.
    clock.advance(25_000);
    const later = await stub.status("rings");
    expect(later.rings?.map((r) => r.canary.requests)).toEqual([12, 80]);
    expect(later.rings?.[0]?.canary.users).toBe(3);
    await stub.sync({ routeId: "rings", isolateId: "ring-iso", seq: 3, configHash: hash, release: "ring-1", delta: ringDelta(3) });
    const more = await stub.status("rings");
    expect(more.rings?.map((r) => r.canary.requests)).toEqual([18, 120]);
    expect(more.rings?.[0]?.canary.users).toBe(3);
    clock.advance(25_000);
    expect((await stub.status("rings")).rings?.map((r) => r.canary.requests)).toEqual([18, 120]);
  });

  it("refuses a malformed delta (too many rings, a huge key) without merging it or failing", async () => {
    const doc = ringDoc("ringbad", "bad-1");
    await putConfigAndSync(doc);
    const parsed = validateConfig(doc);
    if (!parsed.ok) throw new Error(parsed.error.join("; "));
    const hash = routeHash(parsed.value.routes[0]!);
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("ringbad"));
    const before = (await stub.status("ringbad")).step!.evidence;
    const many = emptyEvidence();
    for (let i = 0; i <= MAX_RINGS; i++) recordOutcome(many, "canary", true, 5, identityHash(`x${i}`), `ring-${i}`);
    const r1 = await stub.sync({ routeId: "ringbad", isolateId: "bad-iso", seq: 1, configHash: hash, release: "bad-1", delta: many });
    expect(r1.refused).toBe(`${MAX_RINGS + 1} rings (at most ${MAX_RINGS})`);
    const huge = emptyEvidence();
    recordOutcome(huge, "canary", false, 5, 1, "k".repeat(100_000));
    const r2 = await stub.sync({ routeId: "ringbad", isolateId: "bad-iso", seq: 2, configHash: hash, release: "bad-1", delta: huge });
    expect(r2.refused).toMatch(/^a ring key of 100000 characters/);
    const broken = { stable: emptyEvidence().stable, canary: { requests: "many" } } as unknown as Evidence;
    const r3 = await stub.sync({ routeId: "ringbad", isolateId: "bad-iso", seq: 3, configHash: hash, release: "bad-1", delta: broken });
    expect(r3.refused).toBe("canary: requests and errors must be counts");
    expect(r3.state?.phase).toBe("progressing");
    const after = await stub.status("ringbad");
    expect(after.step!.evidence.canary.requests).toBe(before.canary.requests);
    expect(after.rings?.[0]).toMatchObject({ key: "staff", canary: { requests: 0 } });
    // A good delta after them is merged as usual.
    const ok = await stub.sync({ routeId: "ringbad", isolateId: "bad-iso", seq: 4, configHash: hash, release: "bad-1", delta: ringDelta(9) });
    expect(ok.refused).toBeUndefined();
    expect((await stub.status("ringbad")).rings?.[0]).toMatchObject({ key: "staff", canary: { requests: 6, users: 3 } });
  });
});
