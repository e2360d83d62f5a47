// Issue #14 items 1 and 2: the state an isolate serves after an idle spell. Short sync
// settings in the route's config stand in for the defaults (1 s / 30 s / 500 ms).
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Coordinator } from "../../src/coordinator/coordinator.js";
import { admin, config, putConfigAndSync, route, send, sleep } from "./helpers.js";

// Trust bound: intervalMs + coldWaitMs = 300 ms; staleAfterMs at its minimum (1 s).
const SYNC = { intervalMs: 100, staleAfterMs: 1000, coldWaitMs: 200 };
const headerSticky = { source: "header" as const, name: "x-user-id" };
const user = { headers: { "x-user-id": "idle-user" } };

const failing = {
  idFromName: (n: string) => env.COORDINATOR.idFromName(n),
  get: () => ({
    sync: async () => {
      throw new Error("coordinator down");
    },
  }),
} as unknown as DurableObjectNamespace<Coordinator>;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("CoordinatorClient: an idle spell is not a coordinator failure (item 1)", () => {
  it("serves the canary cohort after an idle spell longer than staleAfterMs, without a fail-safe log", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "idle-1", sticky: headerSticky })), sync: SYNC });
    expect((await send("/", user)).variant).toBe("canary");
    const errors = vi.spyOn(console, "error");
    await sleep(SYNC.staleAfterMs + 300); // nobody asks: no sync, and none is failing
    const r = await send("/", user);
    expect(r.variant).toBe("canary");
    expect(errors.mock.calls.map((c) => String(c[0])).filter((m) => m.includes("staleAfterMs"))).toEqual([]);
    const status = await admin<{ routes: Array<{ isolate: { failSafe: boolean } }> }>("/status");
    expect(status.json.routes[0]!.isolate.failSafe).toBe(false);
  });

  it("still fails safe when syncs have actually been failing for staleAfterMs", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "idle-2", sticky: headerSticky })), sync: SYNC });
    expect((await send("/", user)).variant).toBe("canary");
    const errors = vi.spyOn(console, "error");
    const started = Date.now();
    const seen: string[] = [];
    while (Date.now() - started < SYNC.staleAfterMs + 400) {
      seen.push((await send("/", { ...user, envOverrides: { COORDINATOR: failing } })).variant!);
      await sleep(50);
    }
    expect(seen[0]).toBe("canary"); // a failing sync keeps the cached state for a while
    expect(seen.at(-1)).toBe("stable"); // then fail-safe
    expect(errors.mock.calls.some((c) => String(c[0]).includes("coordinator unreachable"))).toBe(true);
    await sleep(SYNC.intervalMs);
    expect((await send("/", user)).variant).toBe("canary"); // reachable again
  });
});

describe("CoordinatorClient: an idle isolate never serves a pre-rollback state (item 2)", () => {
  it("an isolate idle past intervalMs + coldWaitMs hears a rollback before its first request is served", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "idle-rb", sticky: headerSticky })), sync: SYNC });
    expect((await send("/", user)).variant).toBe("canary");
    // The rollback is accepted by the coordinator; this isolate does not ask for a while.
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("www"));
    await stub.command("www", { type: "rollback", reason: "idle isolate test" });
    await sleep(SYNC.intervalMs + SYNC.coldWaitMs + 200);
    const r = await send("/", user);
    expect(r.variant).toBe("stable");
  });

  it("an idle isolate whose first sync fails serves stable, not its old state", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "idle-down", sticky: headerSticky })), sync: SYNC });
    expect((await send("/", user)).variant).toBe("canary");
    await sleep(SYNC.intervalMs + SYNC.coldWaitMs + 200);
    const r = await send("/", { ...user, envOverrides: { COORDINATOR: failing } });
    expect(r.response.status).toBe(200);
    expect(r.variant).toBe("stable");
  });

  it("concurrent first requests after an idle spell all wait for the one sync and agree", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "idle-burst", sticky: headerSticky })), sync: SYNC });
    expect((await send("/", user)).variant).toBe("canary");
    await sleep(SYNC.intervalMs + SYNC.coldWaitMs + 200);
    const burst = await Promise.all(Array.from({ length: 6 }, () => send("/", user)));
    expect(burst.map((r) => r.variant)).toEqual(Array(6).fill("canary"));
  });
});
