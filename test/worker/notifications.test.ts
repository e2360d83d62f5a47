import { describe, expect, it } from "vitest";
import { admin, config, originControl, origins, putConfigAndSync, route, sleep } from "./helpers.js";

interface Received {
  path: string;
  body: { text: string; edge_canary: { route: string; event: string; actor: string; toPhase: string; reason: string; epoch: number } };
}

async function received(): Promise<Received[]> {
  return (await (await fetch(`${origins.stable}/__origin/received`)).json()) as Received[];
}

async function waitFor(pred: (r: Received[]) => boolean, ms = 10_000): Promise<Received[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await received();
    if (pred(r) || Date.now() > deadline) return r;
    await sleep(100);
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
    const got = await waitFor((r) => r.length >= 3);
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
      await sleep(1500);
      expect((await received()).length).toBe(0);
      await originControl(origins.stable, { failRate: 0 });
      const got = await waitFor((r) => r.some((x) => x.body.edge_canary.event === "pause"), 15_000);
      expect(got.map((r) => r.body.edge_canary.event)).toContain("pause");
      expect(got.map((r) => r.body.edge_canary.event)).toContain("config");
    } finally {
      await originControl(origins.stable, { failRate: 0 });
    }
  });
});
