// status, events, the operator commands, `shadow` and `watch --once` against a fake admin API on
// 127.0.0.1 that answers with JSON shaped like src/admin/handle-admin.ts replies
// (test/fixtures/admin/*.json) and checks the bearer token as requireToken does;
// recorded-*.json are real replies of the Worker under `wrangler dev`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderShadow } from "../../scripts/cli/shadow.js";
import { renderStatus, shadowLine, shadowRoutes } from "../../scripts/cli/status.js";
import { eventsTable, planLine, planTable, ringsTable, routesTable } from "../../scripts/cli/status-view.js";
import { renderWatchFrame } from "../../scripts/cli/watch.js";
import type { EventsResponse, ShadowReport, StatusResponse } from "../../src/core/admin-protocol.js";
import { fixtureJson, runCli, startServer, type FakeServer } from "./cli-harness.js";

const TOKEN = "test-admin-token";
const BASE = "/__canary/api";

let admin: FakeServer;
let env: Record<string, string>;

beforeAll(async () => {
  admin = await startServer((req) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, json: { status: 401, error: "wrong token" } };
    const url = new URL(req.url, "http://x");
    if (req.method === "GET" && url.pathname === `${BASE}/status`) return { status: 200, json: fixtureJson("admin/status.json") };
    if (req.method === "GET" && url.pathname === `${BASE}/events`) {
      const all = fixtureJson("admin/events.json") as EventsResponse;
      const route = url.searchParams.get("route");
      if (route && route !== "shop" && route !== "api") return { status: 404, json: { status: 404, error: `unknown route "${route}"` } };
      const events = all.events.filter((e) => !route || e.route === route).slice(0, Number(url.searchParams.get("limit") ?? 50));
      return { status: 200, json: { events, next: route && events.length === Number(url.searchParams.get("limit")) ? events.at(-1)!.id : null } };
    }
    const m = /^\/__canary\/api\/routes\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && m && m[2] === "shadow") {
      // shop is in a shadow stage; api has no mirrors; anything else is the API's 404.
      if (m[1] === "shop") return { status: 200, json: fixtureJson("admin/shadow.json") };
      if (m[1] === "api") return { status: 200, json: fixtureJson("admin/shadow-empty.json") };
      return { status: 404, json: { status: 404, error: `unknown route "${m[1]}"` } };
    }
    if (req.method === "POST" && m) {
      if (m[2] === "promote") return { status: 409, json: fixtureJson("admin/command-conflict.json") };
      return { status: 200, json: fixtureJson("admin/command-pause.json") };
    }
    return { status: 404, json: { status: 404, error: "no such admin endpoint" } };
  });
  env = { CANARY_URL: admin.url, CANARY_ADMIN_TOKEN: TOKEN };
});
afterAll(() => admin.close());

describe("status", () => {
  it("prints routes and per-variant evidence as tables", async () => {
    const r = await runCli(["status"], { env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^route\s+phase\s+release\s+step\s+weight\s+epoch\s+isolates\s+last decision$/m);
    expect(r.out).toMatch(/^shop\s+progressing\s+v2\.4\.0\s+2 of 5: 5%\s+5%\s+7\s+3\s+hold: step ran 212 of 300 s \(1s ago\)$/m);
    expect(r.out).toMatch(/^api\s+paused\s+2026-04-20\.1\s+manual\s+10%\s+4\s+3\s+-$/m);
    expect(r.out).toMatch(/^shop\s+canary\s+977\s+2\s+0\.20%\s+43\.9\s+92\.1\s+140\.3$/m);
    expect(r.out).toMatch(/^api\s+stable\s+40,210\s+35\s+0\.09%\s+12\.3\s+35\.8\s+70\.2$/m);
    expect(admin.requests.at(-1)!.url).toBe(`${BASE}/status`);
  });

  it("adds one comparison line per route in a shadow stage, with its newest mismatch", () => {
    const status = fixtureJson("admin/status.json") as StatusResponse;
    expect(shadowRoutes(status)).toEqual([]);
    const inShadow: StatusResponse = { ...status, routes: status.routes.map((r) => (r.id === "shop" ? { ...r, coordinator: { ...r.coordinator, step: { ...r.coordinator.step!, kind: "shadow", stage: "shadow 10%" } } } : r)) };
    expect(shadowRoutes(inShadow)).toEqual(["shop"]);
    const report = fixtureJson("admin/shadow.json") as ShadowReport;
    const out = renderStatus(inShadow, Date.now(), [report]);
    expect(out).toContain("Shadow comparison (npm run canary -- shadow <route> for the samples):\n");
    expect(out).toContain(`${shadowLine(report)}\n`);
    expect(shadowLine(report)).toMatch(/^shop \(shadow 10%\): [\d,]+ mirrored, mismatch rate [\d.]+% \([\d,]+\), canary errors \d+, timeouts \d+; newest mismatch: GET \/\S+ \w+ /);
    const empty = fixtureJson("admin/shadow-empty.json") as ShadowReport;
    expect(shadowLine(empty)).toMatch(/: no shadow data yet$/);
  });

  it("--json prints the API's JSON; --url with an explicit base path is used as is", async () => {
    const r = await runCli(["status", "--json", "--url", `${admin.url}/__canary/`, "--token", TOKEN]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(fixtureJson("admin/status.json"));
  });

  it("exits 1 on a wrong token with the API's message, 2 without URL or token", async () => {
    const wrong = await runCli(["status"], { env: { ...env, CANARY_ADMIN_TOKEN: "nope" } });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toBe("error: GET /status failed: 401 Unauthorized: wrong token\n");
    expect((await runCli(["status"], { env: { CANARY_URL: admin.url } })).code).toBe(2);
    expect((await runCli(["status"], { env: { CANARY_ADMIN_TOKEN: TOKEN } })).code).toBe(2);
  });

  it("exits 1 with one line when the Worker is unreachable", async () => {
    const closed = await startServer(() => ({ status: 200 }));
    await closed.close();
    const r = await runCli(["status"], { env: { ...env, CANARY_URL: closed.url } });
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: cannot reach ${closed.url}/__canary/api/status: ECONNREFUSED\n`);
  });
});

describe("status of a plan with ring stages", () => {
  const rings = (): StatusResponse => structuredClone(fixtureJson("admin/status-rings.json")) as StatusResponse;

  it("shows the plan with the current stage in brackets, from the server's plan", () => {
    const status = rings();
    const text = renderStatus(status, status.routes[0]!.coordinator.now);
    expect(text).toContain("\nPlan:\nroute  plan (current stage in [ ])\n");
    expect(text).toMatch(/^beta\s+staff 100% › \[staff\+nz 100%\] › 1% › 10% › 100%$/m);
    expect(text).toMatch(/^shop\s+1% › \[5%\] › 25% › 50% › 100%$/m);
    // A manual route has no plan to walk through.
    expect(planTable(status)).not.toMatch(/^api /m);
    // The step column names the ring stage; everyone's weight is 0, the rings get more.
    expect(text).toMatch(/^beta\s+progressing\s+v3\.0\.0\s+2 of 5: staff\+nz 100%\s+0% \+ 2 rings\s+3\s+3\s+hold: /m);
  });

  it("marks the stage the server says is current, not the one the state's index points at", () => {
    const status = rings();
    const beta = status.routes[0]!;
    beta.coordinator.plan = beta.coordinator.plan!.map((s, i) => ({ ...s, current: i === 0 }));
    expect(planLine(beta)).toBe("[staff 100%] › staff+nz 100% › 1% › 10% › 100%");
  });

  it("a rings table: share served, current ring, canary requests/users/errors, stable requests/users, baseline", () => {
    const status = rings();
    const table = ringsTable(status);
    expect(table).toMatch(/^route\s+ring\s+share\s+current\s+canary requests\s+canary users\s+canary errors\s+stable requests\s+stable users\s+stable errors\s+baseline$/m);
    expect(table).toMatch(/^beta\s+staff\s+100%\s+-\s+1,204\s+37\s+1\s+0\s+0\s+0\s+all stable users$/m);
    // Users unknown (null) read "-", not 0.
    expect(table).toMatch(/^beta\s+staff\+nz\s+100%\s+yes\s+1,106\s+412\s+2\s+0\s+-\s+0\s+all stable users$/m);
    expect(table.trim().split("\n")).toHaveLength(3);
    const text = renderStatus(status, Date.now());
    expect(text).toContain("\nRings (share: of the ring, served by the canary; requests and users in the current rollout):\n");
    // The sections come in order: routes, plan, rings, evidence.
    expect(text.indexOf("Plan:")).toBeLessThan(text.indexOf("Rings ("));
    expect(text.indexOf("Rings (")).toBeLessThan(text.indexOf("Current step, per variant:"));
  });

  it("a ring with stable users of its own is compared with them", () => {
    const status = rings();
    const ring = status.routes[0]!.coordinator.rings![1]!;
    Object.assign(ring, { key: "colo:AKL+colo:SYD", percent: 50, baseline: "ring", stable: { requests: 1090, errors: 1, users: 398 } });
    expect(ringsTable(status)).toMatch(/^beta\s+colo:AKL\+colo:SYD\s+50%\s+yes\s+1,106\s+412\s+2\s+1,090\s+398\s+1\s+ring's stable users$/m);
  });

  it("a server before ring stages (no plan, no rings): the plan from the state's labels, no rings table", () => {
    const status = rings();
    for (const r of status.routes) {
      delete r.coordinator.plan;
      delete r.coordinator.rings;
    }
    const text = renderStatus(status, Date.now());
    expect(text).toMatch(/^beta\s+staff 100% › \[staff\+nz 100%\] › 1% › 10% › 100%$/m);
    expect(text).toMatch(/^beta\s+progressing\s+v3\.0\.0\s+2 of 5: staff\+nz 100%\s+0%\s+3/m);
    expect(text).not.toContain("Rings (");
    // A state stored before stage labels: the weights as live stages.
    delete status.routes[1]!.coordinator.state!.stages;
    expect(planLine(status.routes[1]!)).toBe("1% › [5%] › 25% › 50% › 100%");
  });

  it("a rollout off the plan says why: rolled back (nothing current), promoted", () => {
    const status = rings();
    const beta = status.routes[0]!;
    delete beta.coordinator.plan;
    beta.coordinator.state = { ...beta.coordinator.state!, phase: "rolled_back" };
    expect(planLine(beta)).toBe("staff 100% › staff+nz 100% › 1% › 10% › 100%  (rolled back at step 2: serving 0%)");
    beta.coordinator.state = { ...beta.coordinator.state, phase: "promoted", stepIndex: 4 };
    expect(planLine(beta)).toBe("staff 100% › staff+nz 100% › 1% › 10% › 100%  (promoted: 100% everyone)");
  });

  it("watch shows the plan and the rings too", () => {
    const status = rings();
    const frame = renderWatchFrame({ base: "http://w/__canary", now: 1776690213000, intervalMs: 2000, status, color: false });
    expect(frame).toMatch(/^Plan\n/m);
    expect(frame).toMatch(/^beta\s+staff 100% › \[staff\+nz 100%\] › 1% › 10% › 100%$/m);
    expect(frame).toMatch(/^Rings\n/m);
    expect(frame).toMatch(/^beta\s+staff\+nz\s+100%\s+yes/m);
  });
});

describe("events", () => {
  it("passes --route and --limit and prints a table with the next-page cursor", async () => {
    const r = await runCli(["events", "--route", "shop", "--limit", "1"], { env });
    expect(r.code).toBe(0);
    expect(admin.requests.at(-1)!.url).toBe(`${BASE}/events?route=shop&limit=1`);
    expect(r.out).toMatch(/^\s*id\s+time\s+route\s+actor\s+event\s+phase\s+step\s+weight\s+reason$/m);
    expect(r.out).toMatch(/^\s*9\s+2026-04-20 13:00:00Z\s+\S+ ago\s+shop\s+engine\s+advance\s+progressing\s+2\s+5%\s+advance: 300 s and 612 canary requests/m);
    expect(r.out).toContain("more: add --before 9");
  });

  it("--json prints the API's JSON; an unknown route is the API's 404 message", async () => {
    const r = await runCli(["events", "--json"], { env });
    expect((JSON.parse(r.out) as EventsResponse).events).toHaveLength(4);
    const unknown = await runCli(["events", "--route", "nope"], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe('error: GET /events?route=nope failed: 404 Not Found: unknown route "nope"\n');
    expect((await runCli(["events", "--limit", "0"], { env })).code).toBe(2);
  });
});

describe("operator commands", () => {
  it("pause POSTs the reason and prints the new state", async () => {
    const r = await runCli(["pause", "shop", "--reason", "p99 looks odd"], { env });
    expect(r.code).toBe(0);
    const req = admin.requests.at(-1)!;
    expect([req.method, req.url, req.headers["content-type"]]).toEqual(["POST", `${BASE}/routes/shop/pause`, "application/json"]);
    expect(JSON.parse(req.body)).toEqual({ reason: "p99 looks odd" });
    expect(r.out).toBe("shop: pause accepted; phase paused, step 2 of 5: 5%, serving 5% canary, epoch 8, release v2.4.0\n  reason: p99 looks odd\n");
  });

  it("step sends the step number from 1 (as the API, the audit log and status count)", async () => {
    const r = await runCli(["step", "shop", "2", "--reason", "skip ahead"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(admin.requests.at(-1)!.body)).toEqual({ reason: "skip ahead", step: 2 });
    expect((await runCli(["step", "shop", "1", "--reason", "back to the start"], { env })).code).toBe(0);
    expect((await runCli(["step", "shop", "0", "--reason", "x"], { env })).code).toBe(2);
    expect((await runCli(["step", "shop", "-1", "--reason", "x"], { env })).code).toBe(2);
    expect((await runCli(["step", "shop", "1.5", "--reason", "x"], { env })).code).toBe(2);
  });

  it("a refused transition (409) prints the API's message and exits 1", async () => {
    const r = await runCli(["promote", "shop", "--reason", "ship it"], { env });
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: POST /routes/shop/promote failed: 409 Conflict: cannot promote release v2.4.0: it was rolled back (resume it or push a new release id)\n");
  });

  it("requires a reason and a valid route id before calling the API", async () => {
    const before = admin.requests.length;
    const noReason = await runCli(["rollback", "shop"], { env });
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain("--reason is required");
    expect((await runCli(["rollback", "../x", "--reason", "r"], { env })).code).toBe(2);
    expect(admin.requests.length).toBe(before);
  });
});

describe("status with a shadow stage", () => {
  it("labels the step by its stage: shadow stages, live stages, and states stored before stage kinds", () => {
    const status = structuredClone(fixtureJson("admin/status.json")) as StatusResponse;
    const shop = status.routes[0]!.coordinator;
    shop.state = { ...shop.state!, stepIndex: 0, weights: [0, 1, 5, 25, 100], stages: ["shadow 10%", "1%", "5%", "25%", "100%"] };
    shop.effectiveWeight = 0;
    expect(routesTable(status, shop.now)).toMatch(/^shop\s+progressing\s+v2\.4\.0\s+1 of 5: shadow 10%\s+0%\s+7\s+3\s+hold: /m);
    shop.state = { ...shop.state, stepIndex: 2 };
    expect(routesTable(status, shop.now)).toMatch(/^shop\s+progressing\s+v2\.4\.0\s+3 of 5: 5%\s+0%/m);
    // The fixture's state has no `stages` (stored before stage kinds): its weights are the labels.
    expect(renderStatus(fixtureJson("admin/status.json") as StatusResponse, 0)).toMatch(/^shop\s+progressing\s+v2\.4\.0\s+2 of 5: 5%\s+5%/m);
  });
});

describe("shadow", () => {
  it("prints outcomes, the mismatch rate, paired latency and the newest mismatches", async () => {
    const r = await runCli(["shadow", "shop"], { env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(admin.requests.at(-1)!.url).toBe(`${BASE}/routes/shop/shadow`);
    expect(r.out).toMatch(/^shop: release v2\.5\.0, stage shadow 10%$/m);
    expect(r.out).toMatch(/^match\s+9,412$/m);
    expect(r.out).toMatch(/^mismatch\s+37$/m);
    expect(r.out).toMatch(/^canary timeout\s+1$/m);
    expect(r.out).toContain("mismatch rate 0.39% (37 of 9,469 compared;");
    expect(r.out).toMatch(/^stable\s+41\.2\s+131\.7$/m);
    expect(r.out).toMatch(/^canary\s+43\.9\s+140\.3$/m);
    expect(r.out).toContain("Newest mismatches (3, newest first):");
    expect(r.out).toMatch(/^time\s+method\s+path\s+part\s+stable\s+canary\s+detail$/m);
    expect(r.out).toMatch(/^2026-04-20 13:03:30Z\s+\S+ ago\s+GET\s+\/api\/cart\/42\s+json\s+200\s+200\s+total, items\.0\.price$/m);
    expect(r.out).toMatch(/^2026-04-20 13:02:30Z\s+\S+ ago\s+HEAD\s+\/search\s+status\s+200\s+500\s+stable 200, canary 500$/m);
  });

  it("--json prints the ShadowReport; no mirrors yet reads 'no shadow data yet'", async () => {
    const json = await runCli(["shadow", "shop", "--json"], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(fixtureJson("admin/shadow.json"));
    const empty = await runCli(["shadow", "api"], { env });
    expect(empty.code).toBe(0);
    expect(empty.out).toBe("api: release 2026-04-20.1, not in a shadow stage now\nno shadow data yet (no mirrored request compared for this release)\n");
  });

  it("an unknown route is the API's 404 (exit 1); a bad id or a missing route is a usage error", async () => {
    const unknown = await runCli(["shadow", "nope"], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe('error: GET /routes/nope/shadow failed: 404 Not Found: unknown route "nope"\n');
    const before = admin.requests.length;
    expect((await runCli(["shadow", "../x"], { env })).code).toBe(2);
    expect((await runCli(["shadow"], { env })).code).toBe(2);
    expect(admin.requests.length).toBe(before);
  });

  it("keeps a sample on one line whatever its detail holds", () => {
    const report = structuredClone(fixtureJson("admin/shadow.json")) as ShadowReport;
    report.samples = [{ ...report.samples[0]!, detail: "a\nb\u001b[31mc" }];
    const text = renderShadow(report, report.samples[0]!.at);
    expect(text).toMatch(/json\s+200\s+200\s+a b \[31mc$/m);
    expect(text).not.toContain("\u001b");
  });
});

describe("watch", () => {
  it("--once prints one frame with phase, step, evidence, p95/p99, isolates, decision and events", async () => {
    const r = await runCli(["watch", "--once", "--events", "3"], { env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("\u001b[");
    expect(r.out).toContain(`edge-canary watch  ${admin.url}/__canary`);
    expect(r.out).toMatch(/^shop\s+progressing\s+v2\.4\.0\s+2 of 5: 5%\s+5%\s+7\s+3\s+hold: /m);
    expect(r.out).toMatch(/p95 ms\s+p99 ms/);
    expect(r.out).toMatch(/^shop\s+canary\s+977\s+2\s+0\.20%\s+43\.9\s+92\.1\s+140\.3$/m);
    expect(r.out).toContain("Recent events");
    expect(r.out).toContain("waiting for the DB migration");
    expect(admin.requests.at(-1)!.url).toMatch(/\/events\?limit=3$/);
  });

  it("--once exits 1 and shows the failure when the API refuses", async () => {
    const r = await runCli(["watch", "--once"], { env: { ...env, CANARY_ADMIN_TOKEN: "nope" } });
    expect(r.code).toBe(1);
    expect(r.out).toContain("! refresh failed: GET /status failed: 401 Unauthorized: wrong token");
  });

  it("colours only on a terminal and warns about a rejected config and fail-safe isolates", () => {
    const status = structuredClone(fixtureJson("admin/status.json")) as StatusResponse;
    status.configError = ["routes[0].weight must be between 0 and 100"];
    status.routes[1]!.isolate = { syncedAgoMs: 45_000, failSafe: true, lastError: "timeout", syncs: 3 };
    status.routes[0]!.coordinator.configDiverged = "config diverged: edge 1a2b3c4d, coordinator 9f2c41ab";
    const frame = renderWatchFrame({ base: "http://w/__canary", now: 1776690213000, intervalMs: 2000, status, color: true });
    expect(frame).toContain("\u001b[1medge-canary watch\u001b[22m");
    expect(frame).toContain("! shop: config diverged: edge 1a2b3c4d, coordinator 9f2c41ab (the edge serves no more canary than the coordinator allows)");
    expect(frame).toContain("! KV config rejected, last good config in force: routes[0].weight must be between 0 and 100");
    expect(frame).toContain("! api: answering isolate is in fail-safe (stable only): timeout");
  });
});

describe("renderStatus with recorded replies", () => {
  // recorded-*.json: replies of the real Worker (the deploy bundle in Miniflare, real
  // origins on 127.0.0.1) after traffic, a pause, a promote and a rollback; re-record with
  // `npx tsx scripts/checks/record-admin-fixtures.ts`. The engine's last decision predates the
  // operator's commands, and the table says so.
  it("renders what the real admin API returned", () => {
    const status = fixtureJson("admin/recorded-status.json") as StatusResponse;
    const text = renderStatus(status, status.routes[0]!.coordinator.now);
    expect(text).toMatch(/^shop\s+rolled_back\s+v2\.4\.0\s+1 of 4: 10%\s+0%\s+3\s+1\s+hold: step ran \d+ of 600 s; \d+ of 50 canary requests; .*, before the last change\)$/m);
    expect(text).toMatch(/^api\s+promoted\s+2026-04-20\.1\s+manual\s+100%\s+2\s+1\s+hold: .*, before the last change\)$/m);
    expect(text).toMatch(/^shop\s+canary\s+\d+\s+0\s+0\.00%(\s+[\d.]+){3}$/m);
    // A server from before ring stages: the plan comes from the state, and a rolled-back rollout has no current stage.
    expect(text).toMatch(/^shop\s+10% › 25% › 50% › 100%  \(rolled back at step 1: serving 0%\)$/m);
    expect(text).not.toContain("Rings (");
    const events = fixtureJson("admin/recorded-events.json") as EventsResponse;
    expect(eventsTable(events.events, Date.now())).toMatch(/shop\s+operator\s+rollback\s+paused > rolled_back\s+1\s+0%\s+drill/);
  });
});
