// Issue #14 item 4: what the client does wrong never counts against the canary. An
// origin failure (connect error, 5xx, no headers within timeoutMs after the body was
// sent) is canary evidence; a slow upload, a stalled upload or a client that vanishes
// is recorded under its own error kind and kept out of the rollout's evidence.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { capturingAE, config, origins, putConfigAndSync, route, send, sleep, slowBody } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 5000, coldWaitMs: 500 };
const TIMEOUT = 300;

async function canaryEvidence(): Promise<{ requests: number; errors: number }> {
  await sleep(SYNC.intervalMs + 20);
  await send("/__warm"); // delivers this isolate's pending evidence
  await sleep(50);
  const status = await env.COORDINATOR.get(env.COORDINATOR.idFromName("www")).status("www");
  const c = status.step!.evidence.canary;
  return { requests: c.requests, errors: c.errors };
}

async function upload(body: ReadableStream<Uint8Array>) {
  const { ae, points } = capturingAE();
  const r = await send("/orders", { method: "POST", body, envOverrides: { CANARY_AE: ae }, headers: { "x-user-id": "uploader" } });
  return { r, point: points[0]! };
}

describe("fetchOrigin: client-caused failures (item 4)", () => {
  it("a POST whose body trickles in for longer than timeoutMs reaches the canary and succeeds", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "trickle-1", canary: { origin: origins.canary, timeoutMs: TIMEOUT }, sticky: { source: "header", name: "x-user-id" } })), sync: SYNC });
    const before = await canaryEvidence();
    const { r, point } = await upload(slowBody(6, 120)); // ~600 ms of upload, timeoutMs 300
    expect(r.response.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ version: "canary", bodyLength: 600 });
    expect(point.blobs![8]).toBe("none");
    const after = await canaryEvidence();
    expect(after.errors - before.errors).toBe(0);
  });

  it("an upload that stalls for timeoutMs is answered 408 and recorded as client_stall, not as canary evidence", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "stall-1", canary: { origin: origins.canary, timeoutMs: TIMEOUT }, sticky: { source: "header", name: "x-user-id" } })), sync: SYNC });
    const before = await canaryEvidence();
    const { r, point } = await upload(slowBody(6, 50, { after: 2, how: "stall" }));
    expect(r.response.status).toBe(408);
    expect(r.response.headers.get("x-canary-error")).toBe("client_stall");
    expect(point.blobs![8]).toBe("client_stall");
    const after = await canaryEvidence();
    expect(after).toEqual({ requests: before.requests + 1, errors: before.errors }); // + the warm-up request only
  });

  it("a client that disconnects mid-upload is recorded as client_abort, not as canary evidence", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "abort-1", canary: { origin: origins.canary, timeoutMs: TIMEOUT }, sticky: { source: "header", name: "x-user-id" } })), sync: SYNC });
    const before = await canaryEvidence();
    const { point } = await upload(slowBody(6, 50, { after: 2, how: "abort" }));
    expect(point.blobs![8]).toBe("client_abort");
    const after = await canaryEvidence();
    expect(after).toEqual({ requests: before.requests + 1, errors: before.errors }); // + the warm-up request only
  });

  it("an origin that sends no headers within timeoutMs after the body was sent is a canary timeout", async () => {
    await putConfigAndSync({ ...config(route({ weight: 100, release: "slow-origin-1", canary: { origin: origins.canary, timeoutMs: TIMEOUT }, sticky: { source: "header", name: "x-user-id" } })), sync: SYNC });
    const before = await canaryEvidence();
    const { ae, points } = capturingAE();
    const r = await send("/orders?delayMs=1500", { method: "POST", body: "{}", envOverrides: { CANARY_AE: ae }, headers: { "x-user-id": "uploader" } });
    expect(r.response.status).toBe(502);
    expect(points[0]!.blobs![8]).toBe("timeout");
    const after = await canaryEvidence();
    expect(after.errors - before.errors).toBe(1);
  });
});
