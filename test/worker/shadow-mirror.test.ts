// Shadow stages end to end through the real entry, the real coordinator and real origins
// on 127.0.0.1: which requests are mirrored, that users only ever see stable, that a
// failing canary changes nothing for them, what each comparison concludes, the bounds,
// and that mismatch samples reach the coordinator. The origins' /say/<tag> endpoint
// answers per origin from the query (canary.body=... overrides body on the canary only)
// and keeps what it received, so each test reads its own path's requests. The canary
// that cuts the connection makes workerd log "Network connection lost" as uncaught even
// though fetchOrigin catches it (a plain try { await fetch() } logs the same).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bucketOf, releaseSalt } from "../../src/core/bucket.js";
import type { ShadowConfig } from "../../src/core/config/schema.js";
import type { SyncRequest } from "../../src/core/sync-protocol.js";
import { signOverride } from "../../src/core/override-token.js";
import { AE_SCHEMA_VERSION } from "../../src/edge/analytics-sink.js";
import { admin, capturingAE, clock, config, HOST, loggedErrors, origins, originSaid, putConfigAndSync, route, send, worker, type RouteInput } from "./helpers.js";

const SYNC = { intervalMs: 100, staleAfterMs: 30_000, coldWaitMs: 500 };
const sticky = { source: "header" as const, name: "x-user-id" };

/**
 * A route in its first stage, shadow at `percent`, that stays there for the test's length.
 * latencyPairs is 0 unless the test sets it, so each test's stable origin sees only the
 * users' requests unless it is about reference pairs.
 */
async function shadowRoute(release: string, percent: number, shadowIn: Partial<ShadowConfig> = {}, extra: Partial<RouteInput> = {}): Promise<void> {
  const shadow = { latencyPairs: 0, ...shadowIn };
  await putConfigAndSync({
    ...config(
      route({
        id: "shadow",
        release,
        sticky,
        steps: { stages: [{ shadow: { percent } }, { percent: 50 }], minDurationSec: 86_400, minRequests: 1_000_000 },
        shadow,
        ...extra,
      }),
    ),
    sync: SYNC,
  });
}

/** GET /say/<tag> with the query, as user `user`, with an AE stand-in that keeps the points. */
function say(tag: string, query: string, user = "u-1", init: RequestInit & { envOverrides?: Partial<Env> } = {}) {
  return send(`/say/${tag}?${query}`, { ...init, headers: { "x-user-id": user, ...(init.headers as Record<string, string> | undefined) } });
}

/** The shadow comparisons an AE stand-in saw for a path: [outcome kind, mismatch part]. */
function shadowPoints(points: AnalyticsEngineDataPoint[], path: string): Array<[string, string]> {
  return points.filter((p) => p.blobs?.[1] === "shadow" && p.blobs?.[11] === path).map((p) => [p.blobs![9] as string, p.blobs![10] as string]);
}

const mirrors = async (path: string) => (await originSaid(origins.canary, path)).filter((r) => r.headers["x-canary-shadow"] === "1");


/** The real coordinator binding, keeping a copy of every sync request an isolate sends it. */
function recordingCoordinator(): { seen: SyncRequest[]; COORDINATOR: Env["COORDINATOR"] } {
  const seen: SyncRequest[] = [];
  const real = env.COORDINATOR;
  const COORDINATOR = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return { sync: (req: SyncRequest) => (seen.push(structuredClone(req)), stub.sync(req)) };
    },
  } as unknown as Env["COORDINATOR"];
  return { seen, COORDINATOR };
}

describe("shadow stage: which requests are mirrored", () => {
  it("puts the route in the shadow stage: every user served by stable", async () => {
    await shadowRoute("share-0", 100);
    const s = await admin<{ routes: Array<{ coordinator: { state: { phase: string; stepIndex: number }; effectiveWeight: number } }> }>("/status");
    expect(s.json.routes[0]!.coordinator.state).toMatchObject({ phase: "progressing", stepIndex: 0 });
    expect(s.json.routes[0]!.coordinator.effectiveWeight).toBe(0);
  });

  it("mirrors exactly the users whose cohort bucket is below the share, and about that share of them", async () => {
    const release = "share-1";
    const percent = 30;
    await shadowRoute(release, percent);
    const users = 300;
    const expected: string[] = [];
    for (let u = 0; u < users; u++) {
      const id = `share-user-${u}`;
      const r = await say("share", "body=hello", id);
      expect(r.body).toBe("hello");
      expect(r.variant).toBe("stable");
      if (bucketOf(releaseSalt("shadow", release), id) < percent * 100) expected.push(id);
    }
    const seen = await mirrors("/say/share");
    // Which users: the same bucket as the cohort (a user is mirrored on every request or never).
    expect(seen.length).toBe(expected.length);
    // How many: binomial(300, 0.3) has sd 7.9; 4 sd either side.
    const sd = Math.sqrt(users * 0.3 * 0.7);
    expect(Math.abs(seen.length - users * 0.3)).toBeLessThan(4 * sd);
    // And stable got every request, mirrored or not.
    expect((await originSaid(origins.stable, "/say/share")).length).toBe(users);
  });

  it("sends nothing outside a shadow stage", async () => {
    await putConfigAndSync({ ...config(route({ id: "shadow", release: "off-1", sticky, weight: 0 })), sync: SYNC });
    for (let u = 0; u < 20; u++) await say("off", "body=x", `off-${u}`);
    expect(await mirrors("/say/off")).toHaveLength(0);
  });

  it("does not mirror a request pinned by a signed override", async () => {
    await shadowRoute("pin-1", 100);
    const token = await signOverride(env.OVERRIDE_SECRET!, "stable", "shadow", Math.floor(clock.now() / 1000) + 600);
    await say("pinned", "body=x", "pin-user", { headers: { "x-canary-override": token } });
    await say("unpinned", "body=x", "pin-user");
    expect(await mirrors("/say/pinned")).toHaveLength(0);
    expect(await mirrors("/say/unpinned")).toHaveLength(1);
  });

  it("marks the mirror x-canary-shadow: 1, with the canary's forwarding headers, and never stable's request", async () => {
    await shadowRoute("hdr-1", 100);
    await say("hdr", "body=x", "hdr-user", { headers: { "x-canary-shadow": "spoofed", cookie: "app=1" } });
    const [mirror] = await mirrors("/say/hdr");
    expect(mirror!.method).toBe("GET");
    expect(mirror!.headers).toMatchObject({ "x-canary-variant": "canary", "x-canary-release": "hdr-1", "cdn-loop": "edge-canary", "x-forwarded-host": HOST, cookie: "app=1" });
    const [onStable] = await originSaid(origins.stable, "/say/hdr");
    expect(onStable!.headers["x-canary-shadow"]).toBeUndefined();
    expect(onStable!.headers["x-canary-variant"]).toBe("stable");
  });

  it("never mirrors a POST unless shadow.methods lists it, and then only a body of known size within maxBodyBytes", async () => {
    await shadowRoute("post-1", 100);
    await say("post-default", "body=ok", "post-user", { method: "POST", body: "hello", headers: { "content-length": "5" } });
    expect(await mirrors("/say/post-default")).toHaveLength(0);

    await shadowRoute("post-2", 100, { methods: ["GET", "POST"], maxBodyBytes: 64 });
    const r = await say("post-listed", "body=ok", "post-user", { method: "POST", body: "hello", headers: { "content-length": "5" } });
    expect(r.body).toBe("ok");
    const [mirror] = await mirrors("/say/post-listed");
    expect(mirror).toMatchObject({ method: "POST", bodyLength: 5 });
    expect(mirror!.headers["content-length"]).toBe("5");
    // The tee left stable its whole body.
    expect((await originSaid(origins.stable, "/say/post-listed"))[0]!.bodyLength).toBe(5);

    await say("post-big", "body=ok", "post-user", { method: "POST", body: "x".repeat(65), headers: { "content-length": "65" } });
    expect(await mirrors("/say/post-big")).toHaveLength(0);
    expect((await originSaid(origins.stable, "/say/post-big"))[0]!.bodyLength).toBe(65);
    // A body of unknown length (streamed by the client) is not mirrored either.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("streamed"));
        c.close();
      },
    });
    await say("post-stream", "body=ok", "post-user", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(await mirrors("/say/post-stream")).toHaveLength(0);
    expect((await originSaid(origins.stable, "/say/post-stream"))[0]!.bodyLength).toBe(8);
  });
});

describe("shadow stage: reference pairs (shadow.latencyPairs)", () => {
  const onStable = async (path: string) => {
    const all = await originSaid(origins.stable, path);
    return { users: all.filter((r) => r.headers["x-canary-shadow"] === undefined), references: all.filter((r) => r.headers["x-canary-shadow"] === "1") };
  };

  it("latencyPairs 1: every mirrored GET also reaches stable, marked a mirror, at the same moment as the canary's, and the user's answer is unchanged", async () => {
    await shadowRoute("ref-1", 100, { latencyPairs: 1 });
    const { seen, COORDINATOR } = recordingCoordinator();
    // Stable takes 300 ms, so the mirror leaves 300 ms after the user's request; the canary
    // takes 300 ms too, so a reference sent after the canary answered would be 300 ms late.
    const query = "body=stable-answer&delayMs=300&canary.delayMs=300&canary.body=other";
    const users = ["ref-user-0", "ref-user-1", "ref-user-2"];
    for (const u of users) {
      const r = await say("ref", query, u, { envOverrides: { COORDINATOR } });
      const direct = await fetch(`${origins.stable}/say/ref-direct?${query}`);
      expect([r.response.status, r.body, r.variant]).toEqual([direct.status, await direct.text(), "stable"]);
      expect(r.response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    }
    const canary = await mirrors("/say/ref");
    const { users: served, references } = await onStable("/say/ref");
    expect(canary).toHaveLength(3);
    expect(served).toHaveLength(3);
    expect(references).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      expect(references[i]!.headers).toMatchObject({ "x-canary-shadow": "1", "x-canary-variant": "stable", "x-canary-release": "ref-1" });
      expect(references[i]!.method).toBe("GET");
      // Sent with the canary mirror, both after the user's stable request had answered.
      expect(Math.abs(references[i]!.at - canary[i]!.at)).toBeLessThan(100);
      expect(references[i]!.at - served[i]!.at).toBeGreaterThanOrEqual(250);
    }
    // And the coordinator got them as timed reference pairs.
    clock.advance(SYNC.intervalMs * 2);
    await say("ref-sync", "body=x", "ref-user-0", { envOverrides: { COORDINATOR } });
    const pairs = seen.reduce((n, r) => n + (r.delta.shadow?.referencePairs ?? 0), 0);
    expect(pairs).toBeGreaterThanOrEqual(3);
  });

  it("latencyPairs 0: stable never gets a second request, the canary is still mirrored", async () => {
    await shadowRoute("ref-0", 100, { latencyPairs: 0 });
    for (let u = 0; u < 10; u++) await say("ref-none", "body=x", `ref0-user-${u}`);
    expect(await mirrors("/say/ref-none")).toHaveLength(10);
    const { users, references } = await onStable("/say/ref-none");
    expect([users.length, references.length]).toEqual([10, 0]);
  });

  it("never sends a POST listed in shadow.methods to stable twice, even at latencyPairs 1", async () => {
    await shadowRoute("ref-post", 100, { methods: ["GET", "POST"], latencyPairs: 1, maxBodyBytes: 64 });
    for (let u = 0; u < 5; u++) {
      const r = await say("ref-post", "body=ok", `refp-user-${u}`, { method: "POST", body: "hello", headers: { "content-length": "5" } });
      expect(r.body).toBe("ok");
    }
    expect(await mirrors("/say/ref-post")).toHaveLength(5);
    const all = await originSaid(origins.stable, "/say/ref-post");
    expect(all.map((r) => [r.method, r.headers["x-canary-shadow"]])).toEqual(Array.from({ length: 5 }, () => ["POST", undefined]));
    // The same route's GETs are referenced: the POSTs were spared by method, not by chance.
    await say("ref-post-get", "body=ok", "refp-user-0");
    expect((await onStable("/say/ref-post-get")).references).toHaveLength(1);
  });

  it("a reference request takes a maxInFlight slot of its own", async () => {
    await shadowRoute("ref-cap", 100, { maxInFlight: 3, latencyPairs: 1 }, { canary: { origin: origins.canary, timeoutMs: 5000 } });
    const users = Array.from({ length: 6 }, (_, i) => `refcap-user-${i}`);
    const sent = await Promise.all(users.map((u) => say("ref-cap", "body=ok&canary.delayMs=400", u)));
    expect(sent.every((r) => r.body === "ok")).toBe(true);
    // The first mirror and its reference take 2 slots, the second takes the last one alone.
    expect(await mirrors("/say/ref-cap")).toHaveLength(2);
    const { users: served, references } = await onStable("/say/ref-cap");
    expect([served.length, references.length]).toEqual([6, 1]);
  });
});

describe("shadow stage: the user only ever sees stable", () => {
  const direct = async (path: string) => {
    const r = await fetch(`${origins.stable}${path}`);
    return { body: await r.text(), headers: [...r.headers].filter(([n]) => n !== "date") };
  };

  it.each(["status", "headers", "body", "json"] as const)("gets stable's exact bytes and headers with compare %s", async (compare) => {
    await shadowRoute(`bytes-${compare}`, 100, { compare, headers: ["content-type"] });
    const query = `body=${encodeURIComponent('{"v":"stable"}')}&canary.body=${encodeURIComponent('{"v":"canary","extra":1}')}&type=application/json&canary.status=201`;
    const path = `/say/bytes-${compare}?${query}`;
    const { ae, points } = capturingAE();
    const r = await send(path, { headers: { "x-user-id": "bytes-user" }, envOverrides: { CANARY_AE: ae } });
    const want = await direct(path);
    expect(r.body).toBe(want.body);
    expect([...r.response.headers].filter(([n]) => n !== "date" && !n.startsWith("x-canary-"))).toEqual(want.headers);
    // It was mirrored and compared (bodies differ: a json/body mismatch, status and headers agree).
    expect(shadowPoints(points, `/say/bytes-${compare}`)).toEqual([compare === "body" || compare === "json" ? ["mismatch", compare] : ["match", ""]]);
  });

  it("is served at once by a canary that hangs, and the mirror times out", async () => {
    await shadowRoute("hang-1", 100, {}, { canary: { origin: origins.canary, timeoutMs: 300 } });
    const { ae, points } = capturingAE();
    const ctx = createExecutionContext();
    const started = Date.now();
    const response = await worker.fetch(new Request(`http://${HOST}/say/hang?body=fast&canary.delayMs=3000`, { headers: { "x-user-id": "hang-user" } }) as Parameters<typeof worker.fetch>[0], { ...env, CANARY_AE: ae }, ctx);
    expect(await response.text()).toBe("fast");
    expect(Date.now() - started).toBeLessThan(250);
    await waitOnExecutionContext(ctx);
    expect(shadowPoints(points, "/say/hang")).toEqual([["canary_timeout", ""]]);
  });

  it("is served by stable when the canary cuts the connection, and the mirror is a canary_error", async () => {
    await shadowRoute("reset-1", 100, { compare: "body" });
    const { ae, points } = capturingAE();
    let r: Awaited<ReturnType<typeof send>> | undefined;
    await loggedErrors(async () => {
      r = await say("reset", "body=stable-bytes&canary.reset=1", "reset-user", { envOverrides: { CANARY_AE: ae } });
    });
    expect(r!.response.status).toBe(200);
    expect(r!.body).toBe("stable-bytes");
    expect(shadowPoints(points, "/say/reset")).toEqual([["canary_error", ""]]);
  });

  it("counts a canary 5xx as canary_error, the user still served stable's 200", async () => {
    await shadowRoute("c5xx-1", 100);
    const { ae, points } = capturingAE();
    const r = await say("c5xx", "body=ok&canary.status=503", "c5xx-user", { envOverrides: { CANARY_AE: ae } });
    expect([r.response.status, r.body]).toEqual([200, "ok"]);
    expect(shadowPoints(points, "/say/c5xx")).toEqual([["canary_error", ""]]);
  });
});

describe("shadow stage: comparisons", () => {
  const json = (v: unknown) => encodeURIComponent(JSON.stringify(v));

  it("json: ignores the listed paths and numbers within tolerance, and names the first differing path", async () => {
    await shadowRoute("json-1", 100, { compare: "json", ignore: ["items.*.at", "requestId"], numericTolerance: 0.001 });
    const { ae, points } = capturingAE();
    const stable = { requestId: "a", items: [{ price: 10, at: "t1" }, { price: 20, at: "t1" }] };
    const close = { requestId: "b", items: [{ price: 10.005, at: "t2" }, { price: 20, at: "t3" }] };
    const off = { requestId: "b", items: [{ price: 10, at: "t2" }, { price: 21, at: "t3" }] };
    await say("json-agree", `type=application/json&body=${json(stable)}&canary.body=${json(close)}`, "j", { envOverrides: { CANARY_AE: ae } });
    await say("json-differ", `type=application/json&body=${json(stable)}&canary.body=${json(off)}`, "j", { envOverrides: { CANARY_AE: ae } });
    expect(shadowPoints(points, "/say/json-agree")).toEqual([["match", ""]]);
    expect(shadowPoints(points, "/say/json-differ")).toEqual([["mismatch", "json"]]);
  });

  it("body: the exact comparison catches one differing byte in 16 KiB", async () => {
    await shadowRoute("body-1", 100, { compare: "body" });
    const { ae, points } = capturingAE();
    const page = "body=abcdefgh&repeat=2048&tail=X";
    const r = await say("body-same", page, "b", { envOverrides: { CANARY_AE: ae } });
    expect(r.body.length).toBe(16 * 1024 + 1);
    await say("body-one", `${page}&canary.tail=Y`, "b", { envOverrides: { CANARY_AE: ae } });
    expect(shadowPoints(points, "/say/body-same")).toEqual([["match", ""]]);
    expect(shadowPoints(points, "/say/body-one")).toEqual([["mismatch", "body"]]);
  });

  it("headers: a listed header that differs is a mismatch, an unlisted one is not", async () => {
    await shadowRoute("headers-1", 100, { compare: "headers", headers: ["x-said"] });
    const { ae, points } = capturingAE();
    await say("hdr-listed", "body=x&header=a&canary.header=b", "h", { envOverrides: { CANARY_AE: ae } });
    await say("hdr-type", "body=x&canary.type=text/html", "h", { envOverrides: { CANARY_AE: ae } });
    expect(shadowPoints(points, "/say/hdr-listed")).toEqual([["mismatch", "headers"]]);
    expect(shadowPoints(points, "/say/hdr-type")).toEqual([["match", ""]]);
  });

  it("status: a different status class is a mismatch, 200 against 204 is not", async () => {
    await shadowRoute("status-1", 100);
    const { ae, points } = capturingAE();
    await say("st-class", "body=x&canary.status=404", "s", { envOverrides: { CANARY_AE: ae } });
    await say("st-same", "body=x&canary.status=202", "s", { envOverrides: { CANARY_AE: ae } });
    expect(shadowPoints(points, "/say/st-class")).toEqual([["mismatch", "status"]]);
    expect(shadowPoints(points, "/say/st-same")).toEqual([["match", ""]]);
    // The whole point, as docs/reference.md "Analytics Engine schema" maps it: the query string never in it.
    const point = points.find((p) => p.blobs?.[1] === "shadow" && p.blobs?.[11] === "/say/st-class")!;
    expect(point.indexes).toEqual(["shadow:shadow"]);
    expect(point.blobs).toEqual(["shadow", "shadow", "status-1", "", "", "GET", "4xx", "0", "none", "mismatch", "status", "/say/st-class"]);
    expect(point.doubles![1]).toBe(404);
    expect(point.doubles![2]).toBe(AE_SCHEMA_VERSION);
    expect(point.doubles![5]).toBe(200);
  });

  it("a body over maxBodyBytes, by Content-Length or while reading, is skipped; the user gets all of it", async () => {
    await shadowRoute("big-1", 100, { compare: "body", maxBodyBytes: 1000 });
    const { ae, points } = capturingAE();
    const byLength = await say("big-length", "body=0123456789&repeat=200", "g", { envOverrides: { CANARY_AE: ae } });
    const whileReading = await say("big-read", "body=0123456789&repeat=200&chunked=1", "g", { envOverrides: { CANARY_AE: ae } });
    expect(byLength.body.length).toBe(2000);
    expect(whileReading.body.length).toBe(2000);
    expect(whileReading.response.headers.get("content-length")).toBeNull();
    expect(shadowPoints(points, "/say/big-length")).toEqual([["skipped", ""]]);
    expect(shadowPoints(points, "/say/big-read")).toEqual([["skipped", ""]]);
  });
});

describe("shadow stage: bounds and recording", () => {
  it("holds shadow.maxInFlight mirrors per isolate; the rest are not mirrored, and users wait for none", async () => {
    await shadowRoute("cap-1", 100, { maxInFlight: 2 }, { canary: { origin: origins.canary, timeoutMs: 5000 } });
    const users = Array.from({ length: 6 }, (_, i) => `cap-user-${i}`);
    const started = Date.now();
    const sent = await Promise.all(users.map((u) => say("cap", "body=ok&canary.delayMs=400", u)));
    expect(sent.every((r) => r.body === "ok")).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400); // send() waited for the mirrors
    expect(await mirrors("/say/cap")).toHaveLength(2);
    expect((await originSaid(origins.stable, "/say/cap")).length).toBe(6);
    // Slots free again once the mirrors ended.
    await say("cap-after", "body=ok", "cap-user-0");
    expect(await mirrors("/say/cap-after")).toHaveLength(1);
  });

  it("sends the shadow evidence and the newest mismatch samples to the coordinator, without the query", async () => {
    await shadowRoute("samples-1", 100, { compare: "json" });
    const { seen, COORDINATOR } = recordingCoordinator();
    const body = (p: number) => encodeURIComponent(JSON.stringify({ items: [{ price: p }] }));
    for (let i = 0; i < 7; i++) {
      await say(`samples-${i}`, `token=secret&type=application/json&body=${body(1)}&canary.body=${body(2)}`, `sample-user-${i}`, { envOverrides: { COORDINATOR } });
    }
    clock.advance(SYNC.intervalMs * 2);
    await say("samples-sync", "body=x", "sample-user-0", { envOverrides: { COORDINATOR } });
    const withShadow = seen.filter((r) => r.delta.shadow !== undefined);
    expect(withShadow.length).toBeGreaterThanOrEqual(1);
    const mismatches = withShadow.reduce((n, r) => n + r.delta.shadow!.mismatch, 0);
    expect(mismatches).toBeGreaterThanOrEqual(7);
    const samples = withShadow.flatMap((r) => r.mismatches ?? []);
    expect(samples.length).toBeGreaterThan(0);
    for (const r of withShadow) expect((r.mismatches ?? []).length).toBeLessThanOrEqual(5);
    const last = samples.find((s) => s.path === "/say/samples-6");
    expect(last).toMatchObject({ release: "samples-1", method: "GET", part: "json", detail: "items.0.price", stableStatus: 200, canaryStatus: 200 });
    expect(JSON.stringify(samples)).not.toContain("secret");
    // The shadow arm counts the distinct identities behind the mismatches.
    expect(withShadow.some((r) => (r.delta.shadow!.mismatchIds.ids?.length ?? 0) >= 1)).toBe(true);
  });
});
