import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import { emptyEvidence, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { routeHash } from "../../src/core/route-hash.js";
import { clock, config, putConfigAndSync, route } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 30_000, coldWaitMs: 500 };

function delta(canaryShare: number, canaryErrorRate: number, n = 2000): Evidence {
  const d = emptyEvidence();
  for (let i = 0; i < n; i++) {
    const canary = i < n * canaryShare;
    recordOutcome(d, canary ? "canary" : "stable", canary ? i % Math.round(1 / canaryErrorRate) === 0 : i % 200 === 0, 20);
  }
  return d;
}

async function setup(id: string, release: string, weight: number) {
  const doc = { ...config(route({ id, release, weight, match: { hosts: [`${id}.test`] } })), sync: SYNC };
  await putConfigAndSync(doc);
  const parsed = validateConfig(doc);
  if (!parsed.ok) throw new Error(parsed.error.join("; "));
  const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(id));
  let seq = 0;
  const sync = async (d: Evidence, hash = routeHash(parsed.value.routes[0]!)) => {
    clock.advance(300);
    return stub.sync({ routeId: id, isolateId: `${id}-isolate`, seq: ++seq, configHash: hash, release, delta: d });
  };
  return { stub, sync };
}

describe("Coordinator: resume and manual weight changes start a fresh evidence window", () => {
  it("a resume after an engine rollback is not undone by the evidence from before it", async () => {
    const { stub, sync } = await setup("fresh-resume", "fr-1", 50);
    await sync(delta(0.5, 0.3));
    await runDurableObjectAlarm(stub);
    const rolled = await stub.status("fresh-resume");
    expect(rolled.state?.phase).toBe("rolled_back");
    const before = rolled.step!.evidence.canary.requests;
    expect(before).toBeGreaterThan(0);

    const resumed = await stub.command("fresh-resume", { type: "resume", reason: "fixed the canary" });
    expect(resumed.ok && resumed.value.state.phase).toBe("progressing");
    await sync(emptyEvidence());
    await runDurableObjectAlarm(stub);
    const after = await stub.status("fresh-resume");
    expect(after.state?.phase).toBe("progressing");
    expect(after.step!.evidence.canary.requests).toBe(0);
    const [entry] = await stub.events(1);
    expect(entry).toMatchObject({ event: "resume", toPhase: "progressing" });
    expect(entry!.reason).toMatch(/fresh evidence window/);
  });

  it("a manual weight change starts a fresh window, so no sample-ratio mismatch against the old weight", async () => {
    const { stub, sync } = await setup("fresh-weight", "fw-1", 10);
    await sync(delta(0.1, 0.005));
    expect((await stub.status("fresh-weight")).step!.evidence.canary.requests).toBeGreaterThan(100);
    await putConfigAndSync({ ...config(route({ id: "fresh-weight", release: "fw-1", weight: 50, match: { hosts: ["fresh-weight.test"] } })), sync: SYNC });
    clock.advance(10_000); // the coordinator re-reads KV at least this often
    const s = await stub.status("fresh-weight");
    expect(s.effectiveWeight).toBe(50);
    expect(s.step!.evidence.canary.requests).toBe(0);
    const [entry] = await stub.events(1);
    expect(entry!.reason).toMatch(/weight 10 -> 50.*fresh evidence window/);
    await runDurableObjectAlarm(stub);
    expect((await stub.status("fresh-weight")).lastDecision?.reason ?? "").not.toMatch(/sample-ratio/);
  });
});
