import { describe, expect, it, beforeAll, vi } from "vitest";
import { dashboardSettings } from "../../src/admin/dashboard.js";
import type { DashboardSettings } from "../../src/core/admin-protocol.js";
import { env } from "cloudflare:test";
import type { CommandResponse, EventsResponse } from "../../src/core/admin-protocol.js";
import { ADMIN_TOKEN, admin, clock, config, origins, originStats, putConfig, putConfigAndSync, route, send } from "./helpers.js";

const cfg = () => ({
  ...config(route({ weight: 20, sticky: { source: "header", name: "x-user-id" } })),
  sync: { intervalMs: 100 },
});

describe("handleAdmin: auth", () => {
  beforeAll(async () => {
    await putConfig(cfg());
  });

  it("refuses requests without or with a wrong token, and never proxies the admin path", async () => {
    const before = (await originStats(origins.stable)).requests + (await originStats(origins.canary)).requests;
    for (const token of [null, "wrong", "test-admin-token-but-longer", ""]) {
      const r = await admin<{ error: string; status: number }>("/status", { token });
      expect(r.status).toBe(401);
      expect(r.json.error).toMatch(/token/);
    }
    for (const path of ["/__canary/api/nope", "/__canary/", "/__canary"]) {
      const r = await send(path);
      expect(r.response.status).toBe(401);
    }
    const after = (await originStats(origins.stable)).requests + (await originStats(origins.canary)).requests;
    expect(after).toBe(before);
  });

  it("stays under the default base when ADMIN_BASE_PATH is invalid, and logs that once", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      for (let i = 0; i < 3; i++) {
        const r = await send("/__canary/api/status", { envOverrides: { ADMIN_BASE_PATH: "no-slash" as Env["ADMIN_BASE_PATH"] } });
        expect(r.response.status).toBe(401);
      }
      expect(logged).toHaveBeenCalledTimes(1);
      expect(String(logged.mock.calls[0]![0])).toContain("ADMIN_BASE_PATH");
    } finally {
      logged.mockRestore();
    }
  });

  it("is disabled when no ADMIN_TOKEN secret is set", async () => {
    const r = await send("/__canary/api/status", { headers: { authorization: "Bearer " }, envOverrides: { ADMIN_TOKEN: undefined } });
    expect(r.response.status).toBe(401);
    expect(r.body).toContain("ADMIN_TOKEN");
  });
});

describe("handleAdmin: status and commands", () => {
  beforeAll(async () => {
    await putConfig(cfg());
  });

  it("GET /status shows config, phase, epoch, effective weight and evidence", async () => {
    for (let i = 0; i < 20; i++) await send("/", { headers: { "x-user-id": `s${i}` } });
    const r = await admin<{ routes: Array<{ id: string; coordinator: { state: { phase: string; epoch: number; release: string }; effectiveWeight: number } }> }>("/status");
    expect(r.status).toBe(200);
    const www = r.json.routes.find((x) => x.id === "www")!;
    expect(www.coordinator.state).toMatchObject({ phase: "progressing", release: "r1" });
    expect(www.coordinator.state.epoch).toBeGreaterThanOrEqual(1);
    expect(www.coordinator.effectiveWeight).toBe(20);
  });

  it("answers a JSON 404 for an authorized path under the admin base that is not an endpoint", async () => {
    for (const path of ["/__canary/nope", "/__canary/routes/www/rollback", "/__canary/api-v2/status"]) {
      const r = await send(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(r.response.status, path).toBe(404);
      expect(JSON.parse(r.body) as { error: string }, path).toMatchObject({ error: expect.stringContaining(`GET ${path}`) });
    }
    // A known path with the wrong method names the method, so the mistake is visible.
    const post = await send("/__canary/api/status", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(post.response.status).toBe(404);
    expect(post.body).toContain("POST /__canary/api/status");
  });

  it("answers 404 for an unknown route, 400 for a bad body, 409 for an invalid transition", async () => {
    expect((await admin("/routes/nope/rollback", { body: { reason: "x" } })).status).toBe(404);
    expect((await admin("/routes/www/explode", { body: { reason: "x" } })).status).toBe(404);
    expect((await admin("/routes/www/rollback", { body: {} })).status).toBe(400);
    expect((await admin("/routes/www/rollback", { body: "not json" })).status).toBe(400);
    expect((await admin("/routes/www/rollback", { body: { reason: "   " } })).status).toBe(400);
    expect((await admin("/routes/www/step", { body: { reason: "x", step: "two" } })).status).toBe(400);
    const rb = await admin<{ state: { phase: string } }>("/routes/www/rollback", { body: { reason: "manual test" } });
    expect(rb.status).toBe(200);
    expect(rb.json.state.phase).toBe("rolled_back");
    const promote = await admin<{ error: string }>("/routes/www/promote", { body: { reason: "try" } });
    expect(promote.status).toBe(409);
    expect(promote.json.error).toContain("rolled back");
    const resume = await admin<{ state: { phase: string } }>("/routes/www/resume", { body: { reason: "fixed" } });
    expect(resume.json.state.phase).toBe("progressing");
  });

  it("GET /events lists the audit log newest first with actor and reason, paginated", async () => {
    await admin("/routes/www/pause", { body: { reason: "looking at graphs" } });
    await admin("/routes/www/resume", { body: { reason: "graphs fine" } });
    const r = await admin<{ events: Array<{ id: number; actor: string; event: string; reason: string; toPhase: string; configHash: string }>; next: number | null }>("/events?route=www&limit=2");
    expect(r.json.events).toHaveLength(2);
    expect(r.json.events[0]).toMatchObject({ actor: "operator", event: "resume", reason: expect.stringMatching(/^graphs fine; fresh evidence window/), toPhase: "progressing" });
    expect(r.json.events[1]).toMatchObject({ actor: "operator", event: "pause", reason: "looking at graphs", toPhase: "paused" });
    expect(r.json.events[0]!.configHash).toMatch(/^[0-9a-f]{8}$/);
    const page2 = await admin<{ events: Array<{ id: number }> }>(`/events?route=www&limit=2&before=${r.json.next}`);
    expect(page2.json.events[0]!.id).toBeLessThan(r.json.events[1]!.id);
    const all = await admin<{ events: Array<{ actor: string }> }>("/events");
    expect(all.json.events.some((e) => e.actor === "config")).toBe(true);
  });
});

describe("serveDashboard", () => {
  it("hands the page its constants from the server as one JSON data block", async () => {
    const login = await send(`/__canary?token=${ADMIN_TOKEN}`);
    expect(login.response.status).toBe(303);
    const cookie = login.response.headers.get("set-cookie")!.split(";")[0]!;
    const page = await send("/__canary/", { headers: { cookie } });
    expect(page.response.status).toBe(200);
    const block = /<script type="application\/json" id="settings">([^<]*)<\/script>/.exec(page.body);
    expect(JSON.parse(block![1]!) as DashboardSettings).toEqual(JSON.parse(JSON.stringify(dashboardSettings("/__canary"))));
  });
});

describe("handleAdmin: hardening", () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

  beforeAll(async () => {
    await putConfig({ ...cfg(), notify: { webhook: `${origins.stable}/hooks/SECRET-WEBHOOK-PATH` } });
  });

  it("sends Cache-Control: no-store on every admin JSON response, errors included", async () => {
    const paths: Array<[string, RequestInit]> = [
      ["/__canary/api/status", { headers: auth }],
      ["/__canary/api/events", { headers: auth }],
      ["/__canary/api/events?before=abc", { headers: auth }],
      ["/__canary/api/nope", { headers: auth }],
      ["/__canary/api/status", {}],
      ["/__canary/api/routes/www/pause", { method: "POST", headers: auth, body: "{}" }],
    ];
    for (const [path, init] of paths) {
      const r = await send(path, init);
      expect(r.response.headers.get("cache-control"), path).toBe("no-store");
      expect(r.response.headers.get("content-type"), path).toMatch(/application\/json/);
    }
  });

  it("answers 400 naming the parameter for malformed query parameters", async () => {
    for (const [q, name] of [["before=abc", "before"], ["limit=abc", "limit"], ["limit=0", "limit"], ["route=Bad!", "route"], ["nope=1", '"nope"']] as const) {
      const r = await admin<{ error: string }>(`/events?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.error, q).toContain(name);
    }
    expect((await admin("/status?x=1")).status).toBe(400);
    expect((await admin("/events?limit=5&before=999999")).status).toBe(200);
  });

  it("refuses request bodies over 64 KiB with 413, by content-length and when streamed", async () => {
    const big = JSON.stringify({ reason: "x".repeat(70 * 1024) });
    const r = await send("/__canary/api/routes/www/pause", { method: "POST", headers: auth, body: big });
    expect(r.response.status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 70; i++) c.enqueue(new TextEncoder().encode("x".repeat(1024)));
        c.close();
      },
    });
    const chunked = await send("/__canary/api/routes/www/pause", { method: "POST", headers: auth, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.response.status).toBe(413);
  });

  it("slows down repeated wrong tokens from one client with 429 and Retry-After, whatever the token, then lets it in again", async () => {
    const from = (token: string) => send("/__canary/api/status", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": "203.0.113.9" } });
    for (let i = 0; i < 5; i++) expect((await from(`guess-${i}`)).response.status).toBe(401);
    expect((await from("guess-5")).response.status).toBe(401);
    const blocked = await from(ADMIN_TOKEN);
    expect(blocked.response.status).toBe(429);
    expect(Number(blocked.response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await send("/__canary/?token=wrong", { headers: { "cf-connecting-ip": "203.0.113.9" } })).response.status).toBe(429);
    // Another client is not affected.
    expect((await send("/__canary/api/status", { headers: { ...auth, "cf-connecting-ip": "203.0.113.10" } })).response.status).toBe(200);
    clock.advance(1000);
    expect((await from(ADMIN_TOKEN)).response.status).toBe(200);
    expect((await from("guess-6")).response.status).toBe(401); // cleared by the right token: a fresh allowance
  });

  it("never echoes credentials or secrets in status or events", async () => {
    await admin("/routes/www/pause", { body: { reason: "look" } });
    await admin("/routes/www/resume", { body: { reason: "fine" } });
    const bodies = [(await send("/__canary/api/status", { headers: auth })).body, (await send("/__canary/api/events?limit=500", { headers: auth })).body];
    for (const body of bodies) {
      expect(body).not.toContain(ADMIN_TOKEN);
      expect(body).not.toContain(env.OVERRIDE_SECRET);
      expect(body).not.toContain("SECRET-WEBHOOK-PATH");
    }
  });
});

describe("handleAdmin: one step numbering, and replies say what is served", () => {
  it("steps count from 1 in the audit log and the step command; rollback replies 0% served", async () => {
    await putConfigAndSync({
      ...config(route({ release: "num-1", sticky: { source: "header", name: "x-user-id" }, steps: { weights: [10, 30, 60] } })),
      sync: { intervalMs: 100 },
    });
    const [first] = (await admin<EventsResponse>("/events?route=www&limit=1")).json.events;
    expect(first).toMatchObject({ event: "config", step: 1, weight: 10 });
    expect(first!.reason).toContain("step 1 of 3 at 10%");
    const jumped = await admin<CommandResponse>("/routes/www/step", { body: { reason: "skip", step: 2 } });
    expect(jumped.json).toMatchObject({ state: { stepIndex: 1 }, effectiveWeight: 30 });
    expect((await admin<EventsResponse>("/events?route=www&limit=1")).json.events[0]).toMatchObject({ event: "set_step", step: 2, weight: 30 });
    const rb = await admin<CommandResponse>("/routes/www/rollback", { body: { reason: "drill" } });
    expect(rb.json).toMatchObject({ state: { phase: "rolled_back", stepIndex: 1 }, effectiveWeight: 0 });
    const bad = await admin<{ error: string }>("/routes/www/step", { body: { reason: "x", step: 0 } });
    expect(bad.status).toBe(400);
    expect((await admin<{ error: string }>("/routes/www/resume", { body: { reason: "again" } })).json).toMatchObject({ effectiveWeight: 10 });
    const far = await admin<{ error: string }>("/routes/www/step", { body: { reason: "x", step: 4 } });
    expect(far).toMatchObject({ status: 409, json: { error: "step 4 is out of range: release num-1 has 3 step(s), 1..3" } });
  });
});
