import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { emptyEvidence, recordOutcome } from "../../src/core/evidence.js";
import { routeHash } from "../../src/core/route-hash.js";
import { validateConfig } from "../../src/core/config/parse.js";
import { describe, expect, it } from "vitest";
import type { Coordinator } from "../../src/coordinator/coordinator.js";
import { ROLLOUT_RETENTION_MS, STEP_CACHE_WINDOWS } from "../../src/coordinator/store.js";
import { admin, clock, config, loggedErrors, putConfigAndSync, route, send, variantsOf } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 1500, coldWaitMs: 500 };
const headerSticky = { source: "header" as const, name: "x-user-id" };

describe("Coordinator: rollback reaches every user after one sync", () => {
  it("operator rollback turns every user stable, including canary users pinned by cookie", async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, sticky: headerSticky })), sync: SYNC });
    const before = await variantsOf(60);
    expect(before.filter((v) => v === "canary").length).toBeGreaterThan(10);
    // a cookie user who is in the canary
    let cookie = "";
    for (let i = 0; i < 50 && !cookie; i++) {
      const r = await send("/", { envOverrides: {} });
      if (r.variant === "canary") cookie = r.response.headers.getSetCookie()[0]!.split(";")[0]!;
    }
    expect(cookie).not.toBe("");
    const rb = await admin("/routes/www/rollback", { body: { reason: "bad canary" } });
    expect(rb.status).toBe(200);
    clock.advance(SYNC.intervalMs);
    await send("/"); // this request triggers the sync; the next ones see the rollback
    const after = await variantsOf(60);
    expect(after.every((v) => v === "stable")).toBe(true);
    expect((await send("/", { headers: { cookie } })).variant).toBe("stable");
  });

  it("a new release id restarts the rollout", async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "r2", sticky: headerSticky })), sync: SYNC });
    const variants = await variantsOf(60);
    expect(variants.filter((v) => v === "canary").length).toBeGreaterThan(10);
    const status = await admin<{ routes: Array<{ coordinator: { state: { release: string; phase: string } } }> }>("/status");
    expect(status.json.routes[0]!.coordinator.state).toMatchObject({ release: "r2", phase: "progressing" });
  });
});

describe("Coordinator: durability and idempotent alarms", () => {
  it("keeps its state across a restart of the object", async () => {
    await putConfigAndSync({ ...config(route({ weight: 10, release: "dur-1", sticky: headerSticky })), sync: SYNC });
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("www"));
    const before = await stub.status("www");
    expect(before.state?.release).toBe("dur-1");
    // A fresh instance over the same storage (what eviction or a restart gives).
    const reloaded = await runInDurableObject(stub, async (_instance: Coordinator, state) => {
      const { Coordinator: Cls } = await import("../../src/coordinator/coordinator.js");
      const fresh = new Cls(state, env);
      return fresh.status("www");
    });
    expect(reloaded.state).toEqual(before.state);
    // A real restart: every instance is aborted; the next call builds a new one from storage.
    await abortAllDurableObjects();
    const restarted = await env.COORDINATOR.get(env.COORDINATOR.idFromName("www")).status("www");
    expect(restarted.state).toEqual(before.state);
    const events = await env.COORDINATOR.get(env.COORDINATOR.idFromName("www")).events(10);
    expect(events.some((e) => e.release === "dur-1" && e.event === "config")).toBe(true);
  });

  it("counts a retried sync (same isolate and seq) once", async () => {
    const doc = { ...config(route({ weight: 10, release: "dedupe-1", sticky: headerSticky })), sync: SYNC };
    await putConfigAndSync(doc);
    const parsed = validateConfig(doc);
    if (!parsed.ok) throw new Error(parsed.error.join("; "));
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("www"));
    const before = (await stub.status("www")).step!.evidence;
    const delta = emptyEvidence();
    for (let i = 0; i < 7; i++) recordOutcome(delta, "canary", i === 0, 12);
    const req = { routeId: "www", isolateId: "test-isolate", seq: 1, configHash: routeHash(parsed.value.routes[0]!), release: "dedupe-1", delta };
    expect((await stub.sync(req)).duplicate).toBe(false);
    expect((await stub.sync(req)).duplicate).toBe(true);
    expect((await stub.sync({ ...req, seq: 2 })).duplicate).toBe(false);
    const after = (await stub.status("www")).step!.evidence;
    expect(after.canary.requests - before.canary.requests).toBe(14);
    expect(after.canary.errors - before.canary.errors).toBe(2);
  });

  it("hands the engine the stable history before the rollout (latency thresholds from the first window), and a cold route says it calibrates", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("www"));
    const now = clock.now();
    await runInDurableObject(stub, (instance: Coordinator) => {
      const store = (instance as unknown as { store: { applyDelta: (...a: unknown[]) => boolean } }).store;
      for (let k = 1; k <= 6; k++) {
        const delta = emptyEvidence();
        for (let i = 0; i < 1000; i++) recordOutcome(delta, "stable", false, 20 + (i % 50), i);
        store.applyDelta("previous-release", k, "warm-0", 0, now - k * 10_000, delta);
      }
    });
    await putConfigAndSync({ ...config(route({ weight: 10, release: "warm-1", sticky: headerSticky })), sync: SYNC });
    for (let i = 0; i < 40; i++) await send("/", { headers: { "x-user-id": `u${i}` } });
    clock.advance(SYNC.intervalMs);
    await send("/");
    await runDurableObjectAlarm(stub);
    const warm = (await stub.status("www")).lastDecision;
    expect(["history", "rolling"]).toContain((warm?.explanation as { latencySource: string }).latencySource);
    // A route with no history at all: the first window calibrates, and the status says so.
    // Start just after a window boundary, so no window closes under a slow machine
    // between the sync and the alarm (then the window is judged closed, not calibrating).
    clock.advance(10_000 - (clock.now() % 10_000) + 100);
    await putConfigAndSync({ ...config(route({ id: "fresh", weight: 10, release: "fresh-1", sticky: headerSticky })), sync: SYNC });
    const fresh = env.COORDINATOR.get(env.COORDINATOR.idFromName("fresh"));
    const parsed = validateConfig({ ...config(route({ id: "fresh", weight: 10, release: "fresh-1", sticky: headerSticky })), sync: SYNC });
    if (!parsed.ok) throw new Error(parsed.error.join("; "));
    const delta = emptyEvidence();
    for (let i = 0; i < 50; i++) recordOutcome(delta, i % 10 === 0 ? "canary" : "stable", false, 30, i);
    await fresh.sync({ routeId: "fresh", isolateId: "cold-iso", seq: 1, configHash: routeHash(parsed.value.routes[0]!), release: "fresh-1", delta });
    await runDurableObjectAlarm(fresh);
    const cold = (await fresh.status("fresh")).lastDecision;
    expect(cold?.explanation).toMatchObject({ latencySource: "calibrating" });
    expect(cold?.reason).toMatch(/calibrating/);
  });

  it("never rolls back a healthy canary for 3 identities that send failing requests (each counts once per rollout)", async () => {
    const doc = { ...config(route({ id: "attack", weight: 50, release: "atk-1", sticky: headerSticky })), sync: SYNC };
    await putConfigAndSync(doc);
    const parsed = validateConfig(doc);
    if (!parsed.ok) throw new Error(parsed.error.join("; "));
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("attack"));
    const hash = routeHash(parsed.value.routes[0]!);
    for (let seq = 1; seq <= 6; seq++) {
      const delta = emptyEvidence();
      for (let i = 0; i < 400; i++) recordOutcome(delta, i % 2 ? "canary" : "stable", false, 30, seq * 1000 + i);
      for (let id = 0; id < 3; id++) for (let k = 0; k < 20; k++) recordOutcome(delta, "canary", true, 30, 7 + id);
      await stub.sync({ routeId: "attack", isolateId: "atk-iso", seq, configHash: hash, release: "atk-1", delta });
      await runDurableObjectAlarm(stub);
    }
    const s = await stub.status("attack");
    expect(s.state?.phase).toBe("progressing");
    const e = s.lastDecision!.explanation as unknown as { canaryFailedUsers: number; canary: { errors: number } };
    expect(e.canaryFailedUsers).toBe(3);
    expect(e.canary.errors).toBe(360);
  });

  it("at low traffic holds and says what evidence is still needed", async () => {
    await putConfigAndSync({ ...config(route({ id: "quiet", release: "quiet-1", sticky: headerSticky, steps: { weights: [50, 100], minDurationSec: 1, minRequests: 0 } })), sync: SYNC });
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("quiet"));
    for (let i = 0; i < 5; i++) await send("/", { headers: { "x-user-id": `q${i}` } });
    clock.advance(SYNC.intervalMs);
    await send("/");
    await runDurableObjectAlarm(stub);
    const d = (await stub.status("quiet")).lastDecision;
    expect(d?.action).toBe("hold");
    expect((d?.explanation as unknown as { needed: string[] }).needed.length).toBeGreaterThan(0);
  });

  it("resumes after a restart with the same evidence: the engine rebuilds the rollout from the stored windows", async () => {
    const doc = { ...config(route({ id: "resume", weight: 20, release: "res-1", sticky: headerSticky })), sync: SYNC };
    await putConfigAndSync(doc);
    const parsed = validateConfig(doc);
    if (!parsed.ok) throw new Error(parsed.error.join("; "));
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("resume"));
    const delta = emptyEvidence();
    for (let i = 0; i < 500; i++) recordOutcome(delta, i % 5 ? "stable" : "canary", i % 50 === 1 || i === 0, 30, i);
    const req = { routeId: "resume", isolateId: "res-iso", seq: 1, configHash: routeHash(parsed.value.routes[0]!), release: "res-1", delta };
    await stub.sync(req);
    clock.advance(300);
    await stub.sync({ ...req, seq: 2, delta: emptyEvidence() }); // evaluates (past the throttle)
    const before = (await stub.status("resume")).lastDecision!.explanation as { errors: { canaryEvents: number; stableEvents: number } };
    expect(before.errors.canaryEvents).toBeGreaterThan(0);
    await abortAllDurableObjects();
    const again = env.COORDINATOR.get(env.COORDINATOR.idFromName("resume"));
    await again.sync({ ...req, seq: 3, delta: emptyEvidence() });
    const st = await again.status("resume");
    expect(st.lastDecision, JSON.stringify({ state: st.state, w: st.effectiveWeight })).toBeDefined();
    const after = (await again.status("resume")).lastDecision!.explanation as { errors: { canaryEvents: number; stableEvents: number } };
    expect(after.errors.canaryEvents).toBe(before.errors.canaryEvents);
    expect(after.errors.stableEvents).toBe(before.errors.stableEvents);
  });

  it("keeps the current step's parsed windows equal to what SQLite holds, in order", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("cache-check"));
    await runInDurableObject(stub, (instance: Coordinator) => {
      type Store = {
        applyDelta: (...a: unknown[]) => boolean;
        stepWindows: (release: string, step: number) => readonly { start: number; evidence: unknown }[];
        windows: (release: string, since: number, step?: number) => { start: number; evidence: unknown }[];
        prune: (now: number, current: { release: string; step: number } | undefined) => void;
      };
      const store = (instance as unknown as { store: Store }).store;
      const t0 = 1_700_000_000_000;
      const delta = (errors: number) => {
        const d = emptyEvidence();
        for (let i = 0; i < 10; i++) recordOutcome(d, i % 2 ? "canary" : "stable", i < errors, 10 + i);
        return d;
      };
      store.applyDelta("a", 1, "rel", 0, t0 + 25_000, delta(1));
      expect(store.stepWindows("rel", 0)).toHaveLength(1); // loaded, now cached
      let seq = 2;
      for (const at of [t0 + 26_000, t0 + 45_000, t0 + 5_000, t0 + 15_000, t0 + 46_000]) store.applyDelta("a", seq++, "rel", 0, at, delta(seq % 3));
      store.applyDelta("a", seq++, "rel", 1, t0 + 50_000, delta(2)); // another step: not in this step's list
      const fromSql = store.windows("rel", 0, 0);
      expect(store.stepWindows("rel", 0).map((b) => b.start)).toEqual([t0, t0 + 10_000, t0 + 20_000, t0 + 40_000]);
      expect(JSON.parse(JSON.stringify(store.stepWindows("rel", 0)))).toEqual(JSON.parse(JSON.stringify(fromSql)));
      store.prune(t0 + 60_000, { release: "rel", step: 1 }); // the cached step is no longer current
      expect(store.stepWindows("rel", 1).map((b) => b.start)).toEqual([t0 + 50_000]);
    });
  });

  it("holds a step of hours in bounded memory: the newest windows parsed, the rest summed exactly; storage keeps the rollout's last 6 h", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("long-step"));
    await runInDurableObject(stub, (instance: Coordinator) => {
      type Store = {
        applyDelta: (...a: unknown[]) => boolean;
        stepWindows: (release: string, step: number) => readonly { start: number }[];
        stepTotal: (release: string, step: number) => { stable: { requests: number; errors: number }; canary: { requests: number } };
        windows: (release: string, since: number, step?: number) => { start: number }[];
        prune: (now: number, current: { release: string; step: number } | undefined) => void;
      };
      const store = (instance as unknown as { store: Store }).store;
      const t0 = 1_700_000_000_000;
      const n = 360; // 1 h of windows, more than the cache keeps
      for (let i = 0; i < n; i++) {
        const d = emptyEvidence();
        for (let k = 0; k < 5; k++) recordOutcome(d, k === 0 ? "canary" : "stable", k === 1 && i % 4 === 0, 20 + k);
        store.applyDelta("iso", i + 1, "long", 0, t0 + i * 10_000, d);
      }
      const cached = store.stepWindows("long", 0);
      expect(cached).toHaveLength(STEP_CACHE_WINDOWS);
      expect(cached.at(-1)!.start).toBe(t0 + (n - 1) * 10_000);
      expect(store.stepTotal("long", 0).stable).toMatchObject({ requests: 4 * n, errors: n / 4 });
      expect(store.stepTotal("long", 0).canary.requests).toBe(n);
      expect(store.windows("long", 0, 0)).toHaveLength(n);
      // The current release's windows are kept for ROLLOUT_RETENTION_MS, whatever their step.
      store.prune(t0 + 120 * 10_000 + ROLLOUT_RETENTION_MS, { release: "long", step: 0 });
      expect(store.windows("long", 0, 0)).toHaveLength(n - 120);
      // The running engine's totals do not shrink with storage.
      expect(store.stepTotal("long", 0).canary.requests).toBe(n);
    });
  });

  it("a retried alarm never changes the state twice", async () => {
    await putConfigAndSync({ ...config(route({ weight: 10, release: "alarm-1", sticky: headerSticky })), sync: SYNC });
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("www"));
    const epoch0 = (await stub.status("www")).state!.epoch;
    await runDurableObjectAlarm(stub);
    await runDurableObjectAlarm(stub);
    const s = await stub.status("www");
    expect(s.state!.epoch).toBe(epoch0);
  });
});

describe("CoordinatorClient: coordinator failures", () => {
  it("keeps serving the cached state when the coordinator throws, then fails safe to stable after staleAfterMs", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "fs-1", sticky: headerSticky })), sync: SYNC });
    expect((await send("/")).variant).toBe("canary");
    const broken = {
      idFromName: (n: string) => env.COORDINATOR.idFromName(n),
      get: () => ({
        sync: async () => {
          throw new Error("coordinator exploded");
        },
      }),
    } as unknown as DurableObjectNamespace<Coordinator>;
    const started = clock.now();
    const logged = await loggedErrors(async () => {
      // Within the staleness bound: cached state keeps serving the canary.
      for (let i = 0; i < 5; i++) {
        const r = await send("/", { envOverrides: { COORDINATOR: broken } });
        expect(r.response.status).toBe(200);
        expect(r.variant).toBe("canary");
        clock.advance(50);
      }
      expect(clock.now() - started).toBeLessThan(SYNC.staleAfterMs);
      clock.advance(SYNC.staleAfterMs);
      const r = await send("/", { envOverrides: { COORDINATOR: broken } });
      expect(r.response.status).toBe(200);
      expect(r.variant).toBe("stable");
    });
    // The failure is said once, and the fail-safe once, however many syncs fail.
    expect(logged).toEqual([
      expect.objectContaining({ level: "warn", msg: "coordinator sync failed; serving cached state", route: "www", error: "coordinator exploded" }),
      expect.objectContaining({ level: "error", msg: "coordinator unreachable past staleAfterMs: serving stable only", route: "www", lastError: "coordinator exploded" }),
    ]);
    // Reachable again: back to the canary on the next sync.
    clock.advance(SYNC.intervalMs);
    await send("/");
    expect((await send("/")).variant).toBe("canary");
  });

  it("a cold isolate with a failing coordinator serves stable and calls it at most once per interval", async () => {
    // Written straight to KV: no request may reach the real coordinator for this route.
    await env.CANARY_CONFIG.put(
      "config",
      JSON.stringify({ ...config(route({ id: "cold", weight: 100, release: "cold-1", sticky: headerSticky })), sync: { ...SYNC, intervalMs: 1000 } }),
    );
    let calls = 0;
    const failing = {
      idFromName: (n: string) => env.COORDINATOR.idFromName(n),
      get: () => ({
        sync: async () => {
          calls++;
          throw new Error("coordinator down");
        },
      }),
    } as unknown as DurableObjectNamespace<Coordinator>;
    let elapsed = 0;
    const logged = await loggedErrors(async () => {
      await send("/", { envOverrides: { COORDINATOR: failing } }); // picks up the new config
      calls = 0;
      const started = clock.now();
      for (let i = 0; i < 20; i++) {
        const r = await send("/", { envOverrides: { COORDINATOR: failing }, headers: { "x-user-id": `c${i}` } });
        expect(r.response.status).toBe(200);
        expect(r.variant).toBe("stable");
      }
      elapsed = clock.now() - started;
    });
    expect(calls).toBeLessThanOrEqual(1 + Math.floor(elapsed / 1000));
    expect(logged).toEqual([expect.objectContaining({ msg: "coordinator sync failed; serving cached state", route: "cold", error: "coordinator down" })]);
  });
});
