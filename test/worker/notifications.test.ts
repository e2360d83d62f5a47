import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../src/core/notification.js";
import { admin, clock, config, originControl, origins, putConfigAndSync, route, sleep } from "./helpers.js";

interface Received {
  path: string;
  body: { text: string; edge_canary: { route: string; event: string; actor: string; toPhase: string; reason: string; epoch: number } };
}

async function received(): Promise<Received[]> {
  return (await (await fetch(`${origins.stable}/__origin/received`)).json()) as Received[];
}

/**
 * Polls the receiver until `pred` holds. A message queued while an earlier delivery is
 * in flight waits for the coordinator's next alarm; running the alarm at once spares
 * the test that wait.
 */
async function waitFor(stub: DurableObjectStub, pred: (r: Received[]) => boolean, ms = 10_000): Promise<Received[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await received();
    if (pred(r) || Date.now() > deadline) return r;
    await runDurableObjectAlarm(stub);
    await sleep(10);
  }
}

/** The coordinator's undelivered webhook messages, oldest first. */
async function outbox(stub: DurableObjectStub): Promise<Array<{ attempts: number }>> {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ attempts: number }>("SELECT attempts FROM outbox ORDER BY id").toArray());
}

async function until(pred: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms`);
    await sleep(10);
  }
}

describe("Notifier: webhook of every decision", () => {
  it("posts Slack-compatible JSON for a new rollout, a pause and a rollback, with reasons", async () => {
    await originControl(origins.stable, { reset: true });
    await putConfigAndSync({
      ...config(route({ release: "hook-1", weight: 10 })),
      sync: { intervalMs: 100 },
      notify: { webhook: `${origins.stable}/hook/slack` },
    });
    await admin("/routes/www/pause", { body: { reason: "checking dashboards" } });
    await admin("/routes/www/rollback", { body: { reason: "p99 looks off" } });
    const got = await waitFor(env.COORDINATOR.get(env.COORDINATOR.idFromName("www")), (r) => r.length >= 3);
    const events = got.map((r) => r.body.edge_canary.event);
    expect(events).toEqual(["config", "pause", "rollback"]);
    const rollback = got[2]!.body;
    expect(rollback.text).toContain("www");
    expect(rollback.text).toContain("p99 looks off");
    expect(rollback.edge_canary).toMatchObject({ route: "www", actor: "operator", toPhase: "rolled_back", reason: "p99 looks off" });
    expect(got.every((r) => r.path === "/hook/slack")).toBe(true);
    // epochs increase: receivers can order and dedupe
    const epochs = got.map((r) => r.body.edge_canary.epoch);
    expect([...epochs].sort((a, b) => a - b)).toEqual(epochs);
  });

  it("retries with backoff until the receiver accepts", async () => {
    await originControl(origins.stable, { reset: true, failRate: 1, failStatus: 503 });
    try {
      await putConfigAndSync({
        ...config(route({ release: "hook-2", weight: 10 })),
        sync: { intervalMs: 100 },
        notify: { webhook: `${origins.stable}/hook/retry` },
      });
      await admin("/routes/www/pause", { body: { reason: "while the receiver is down" } });
      const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("www"));
      // Each message is tried once when it is queued; then the alarm retries it after
      // each backoff delay (1 s, 2 s) on the driven clock.
      await until(async () => (await outbox(stub)).every((m) => m.attempts >= 1));
      for (const failed of [1, 2]) {
        clock.advance(retryDelayMs(failed));
        await runDurableObjectAlarm(stub);
      }
      expect((await outbox(stub)).map((m) => m.attempts)).toEqual([3, 3]);
      expect((await received()).length).toBe(0);
      await originControl(origins.stable, { failRate: 0 });
      clock.advance(retryDelayMs(3));
      await runDurableObjectAlarm(stub);
      expect(await outbox(stub)).toEqual([]);
      const got = await received();
      expect(got.map((r) => r.body.edge_canary.event)).toContain("pause");
      expect(got.map((r) => r.body.edge_canary.event)).toContain("config");
    } finally {
      await originControl(origins.stable, { failRate: 0 });
    }
  });
});
