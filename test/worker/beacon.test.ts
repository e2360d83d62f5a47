// Browser metrics through the real entry: POST <base>/beacon (src/edge/beacon.ts), the
// injected script tag (src/edge/html-inject.ts) and the script itself (metrics-script.ts).
// Events are watched through the entry's metricTap seam: what the Worker hands its sinks.
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MetricEvent } from "../../src/core/metrics/metric-event.js";
import { createWorker } from "../../src/worker.js";
import { METRICS_SCRIPT, METRICS_SCRIPT_HASH } from "../../src/edge/metrics-script.generated.js";
import { clock, config, cookieFrom, putConfigAndSync, route, send, type RouteInput } from "./helpers.js";

const events: MetricEvent[] = [];
const via = createWorker({
  now: clock.now,
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  sleep: () => Promise.resolve(),
  metricTap: { recordMetric: (e) => void events.push(e) },
});
const FAST = { intervalMs: 100 };
const METRICS: RouteInput["metrics"] = [
  { name: "checkout", kind: "conversion", better: "higher" },
  { name: "js_error", kind: "rate-per-user", better: "lower" },
];
const SCRIPT_PATH = `/__canary/m.${METRICS_SCRIPT_HASH}.js`;

/** A user the Worker minted on the beacon route: their cookie and the variant they were served. */
async function user(path = "/shop"): Promise<{ cookie: string; variant: string }> {
  const r = await send(path, { via });
  return { cookie: cookieFrom(r.response, "canary_id")!, variant: r.variant! };
}

function beacon(body: unknown, init: { cookie?: string; type?: string | null; referer?: string; envOverrides?: Partial<Env>; method?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.type !== null) headers["content-type"] = init.type ?? "text/plain;charset=UTF-8";
  if (init.cookie) headers.cookie = init.cookie;
  if (init.referer) headers.referer = init.referer;
  return send("/__canary/beacon", { via, method: init.method ?? "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body), envOverrides: init.envOverrides });
}

const tallyOf = (r: { response: Response }) => r.response.headers.get("x-canary-beacon");
const errorCode = (r: { body: string }) => (JSON.parse(r.body) as { error: { code: string } }).error.code;

describe("POST <base>/beacon", () => {
  beforeAll(async () => {
    await putConfigAndSync({
      ...config(
        route({ id: "shop", match: { pathPrefix: "/shop" }, weight: 50, release: "beacon-1", metrics: METRICS, metricSources: { beacon: true, maxEventsPerUser: 5 } }),
        route({ id: "plain", match: { pathPrefix: "/plain" }, weight: 50, release: "beacon-1", metrics: METRICS }),
      ),
      sync: FAST,
    });
    // This Worker's config cache re-reads KV in the background: twice, and it has the new one.
    for (let i = 0; i < 2; i++) await send("/__warm", { via });
  });
  beforeEach(() => {
    events.length = 0;
  });

  it("answers 204 and hands each event to the sinks, attributed to the user's route, release and variant", async () => {
    const u = await user();
    const r = await beacon({ page: "/shop/cart", events: [{ name: "checkout", value: 1 }, { name: "js_error" }] }, { cookie: u.cookie });
    expect(r.response.status).toBe(204);
    expect(r.body).toBe("");
    expect(tallyOf(r)).toBe("accepted=2, unknown=0, limited=0, forced=0");
    expect(r.response.headers.get("access-control-allow-origin")).toBeNull();
    const id = u.cookie.slice("canary_id=".length, "canary_id=".length + 22);
    expect(events).toEqual([
      { routeId: "shop", release: "beacon-1", variant: u.variant, identity: id, name: "checkout", value: 1, source: "beacon" },
      { routeId: "shop", release: "beacon-1", variant: u.variant, identity: id, name: "js_error", value: 1, source: "beacon" },
    ]);
  });

  it("attributes the variant on the server, whatever the payload claims", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const u = await user();
      if (seen.has(u.variant)) continue;
      seen.add(u.variant);
      events.length = 0;
      const claim = u.variant === "canary" ? "stable" : "canary";
      const r = await beacon({ page: "/shop", variant: claim, events: [{ name: "checkout", value: 1, variant: claim }] }, { cookie: u.cookie });
      expect(r.response.status).toBe(204);
      expect(events.map((e) => e.variant)).toEqual([u.variant]);
    }
    expect([...seen].sort()).toEqual(["canary", "stable"]);
  });

  it("takes the page from the Referer when the body names none (same host only), and labels the injected script's beacons", async () => {
    const u = await user();
    const r = await beacon({ source: "script", events: [{ name: "checkout" }] }, { cookie: u.cookie, referer: "http://app.test/shop/x" });
    expect(r.response.status).toBe(204);
    expect(events.map((e) => [e.routeId, e.source])).toEqual([["shop", "script"]]);
    const foreign = await beacon({ events: [{ name: "checkout" }] }, { cookie: u.cookie, referer: "http://evil.test/shop/x" });
    expect(foreign.response.status).toBe(400);
    expect(errorCode(foreign)).toBe("beacon_no_page");
  });

  it("drops and counts names outside route.metrics", async () => {
    const u = await user();
    const r = await beacon({ page: "/shop", events: [{ name: "checkout" }, { name: "signup" }, { name: "lcp", value: 1200 }] }, { cookie: u.cookie });
    expect(r.response.status).toBe(204);
    expect(tallyOf(r)).toBe("accepted=1, unknown=2, limited=0, forced=0");
    expect(events.map((e) => e.name)).toEqual(["checkout"]);
  });

  it("accepts at most maxEventsPerUser events per identity a minute; a new minute starts afresh", async () => {
    const u = await user();
    const three = { page: "/shop", events: [{ name: "checkout" }, { name: "checkout" }, { name: "js_error" }] };
    expect(tallyOf(await beacon(three, { cookie: u.cookie }))).toBe("accepted=3, unknown=0, limited=0, forced=0");
    expect(tallyOf(await beacon(three, { cookie: u.cookie }))).toBe("accepted=2, unknown=0, limited=1, forced=0");
    expect(tallyOf(await beacon(three, { cookie: u.cookie }))).toBe("accepted=0, unknown=0, limited=3, forced=0");
    // Another user is not limited by the first.
    expect(tallyOf(await beacon(three, { cookie: (await user()).cookie }))).toBe("accepted=3, unknown=0, limited=0, forced=0");
    expect(events).toHaveLength(8);
    clock.advance(61_000);
    expect(tallyOf(await beacon(three, { cookie: u.cookie }))).toBe("accepted=3, unknown=0, limited=0, forced=0");
  });

  it("refuses with 403 and records nothing without IDENTITY_SECRET, without the cookie, or with a forged tag", async () => {
    const u = await user();
    const ok = { page: "/shop", events: [{ name: "checkout" }] };
    const noSecret = await beacon(ok, { cookie: u.cookie, envOverrides: { IDENTITY_SECRET: "" } });
    expect([noSecret.response.status, errorCode(noSecret)]).toEqual([403, "beacon_unverifiable"]);
    const none = await beacon(ok);
    expect([none.response.status, errorCode(none)]).toEqual([403, "beacon_no_identity"]);
    const untagged = await beacon(ok, { cookie: u.cookie.slice(0, "canary_id=".length + 22) });
    expect([untagged.response.status, errorCode(untagged)]).toEqual([403, "beacon_no_identity"]);
    const tampered = u.cookie.slice(0, -1) + (u.cookie.endsWith("A") ? "B" : "A");
    const forged = await beacon(ok, { cookie: tampered });
    expect([forged.response.status, errorCode(forged)]).toEqual([403, "beacon_no_identity"]);
    // No identity is minted for a beacon.
    for (const r of [noSecret, none, untagged, forged]) expect(r.response.headers.getSetCookie()).toEqual([]);
    expect(events).toEqual([]);
  });

  it("refuses malformed, oversized and mistyped beacons with a JSON error, and records nothing", async () => {
    const u = await user();
    const cases: Array<[unknown, number, string, { type?: string | null }?]> = [
      ["{not json", 400, "beacon_malformed"],
      [[1, 2], 400, "beacon_malformed"],
      [{ page: "/shop", events: [] }, 400, "beacon_malformed"],
      [{ page: "/shop", events: [{ name: "checkout", value: "1" }] }, 400, "beacon_malformed"],
      [{ page: "/shop", events: [{ name: "checkout" }, { name: 7 }] }, 400, "beacon_malformed"],
      [{ page: "/shop", events: Array.from({ length: 33 }, () => ({ name: "checkout" })) }, 400, "beacon_malformed"],
      [{ page: "shop", events: [{ name: "checkout" }] }, 400, "beacon_malformed"],
      [{ page: "/shop", events: [{ name: "checkout" }], pad: "x".repeat(9000) }, 413, "beacon_too_large"],
      [{ page: "/shop", events: [{ name: "checkout" }] }, 415, "beacon_content_type", { type: "application/x-www-form-urlencoded" }],
      [{ page: "/plain", events: [{ name: "checkout" }] }, 404, "no_beacon_route"],
      [{ page: "/nowhere", events: [{ name: "checkout" }] }, 404, "no_beacon_route"],
    ];
    for (const [body, status, code, opts] of cases) {
      const r = await beacon(body, { cookie: u.cookie, ...opts });
      expect([r.response.status, errorCode(r)], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
      expect(r.response.headers.get("content-type")).toContain("application/json");
    }
    const get = await send("/__canary/beacon", { via, headers: { cookie: u.cookie } });
    expect(get.response.status).toBe(405);
    expect(events).toEqual([]);
  });

  it("is not the admin API: no token asked, and the admin base's other paths still are", async () => {
    const u = await user();
    expect((await beacon({ page: "/shop", events: [{ name: "checkout" }] }, { cookie: u.cookie })).response.status).toBe(204);
    expect((await send("/__canary/api/status", { via })).response.status).toBe(401);
  });
});

describe("the injected script", () => {
  const html = (body: string, extra = "") => `/say/shop/page?type=${encodeURIComponent("text/html; charset=utf-8")}&body=${encodeURIComponent(body)}${extra}`;
  beforeAll(async () => {
    await putConfigAndSync({
      ...config(
        route({ id: "shop", match: { pathPrefix: "/say/shop" }, weight: 50, release: "inject-1", metrics: METRICS, metricSources: { inject: true, webVitals: false } }),
        route({ id: "plain", match: { pathPrefix: "/say/plain" }, weight: 50, release: "inject-1", metrics: METRICS }),
      ),
      sync: FAST,
    });
    // This Worker's config cache re-reads KV in the background: twice, and it has the new one.
    for (let i = 0; i < 2; i++) await send("/__warm", { via });
  });

  const tags = (body: string) => body.match(/<script src="\/__canary\/m\.[0-9a-f]{16}\.js"[^>]*><\/script>/g) ?? [];

  it("goes once at the end of <head> of an HTML page, with the beacon URL and which observers are on", async () => {
    const r = await send(html("<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>"), { via });
    expect(r.response.status).toBe(200);
    expect(tags(r.body)).toHaveLength(1);
    expect(r.body).toMatch(/<title>t<\/title><script src="\/__canary\/m\.[0-9a-f]{16}\.js" defer integrity="sha256-[A-Za-z0-9+/=]+" data-beacon="\/__canary\/beacon" data-vitals="0" data-errors="1" data-metrics="checkout js_error"><\/script><\/head>/);
    expect(r.response.headers.get("content-length")).toBeNull();
  });

  it("goes before </body> without a head; copies the page's script nonce", async () => {
    const noHead = await send(html("<html><body><p>hi</p></body></html>"), { via });
    expect(noHead.body).toMatch(/<p>hi<\/p><script [^>]*><\/script><\/body>/);
    const nonced = await send(html('<html><head><script nonce="r4nd0m">1</script></head><body></body></html>'), { via });
    expect(tags(nonced.body)).toHaveLength(1);
    expect(tags(nonced.body)[0]).toContain('nonce="r4nd0m"');
  });

  it("leaves non-HTML, fragments, HEAD, 204 and 304 responses and routes without inject untouched", async () => {
    const page = "<html><head></head><body></body></html>";
    const json = await send(`/say/shop/j?type=application/json&body=${encodeURIComponent('{"a":"<head></head>"}')}`, { via });
    expect(json.body).toBe('{"a":"<head></head>"}');
    const fragment = await send(html("<div>partial</div>"), { via });
    expect(fragment.body).toBe("<div>partial</div>");
    const head = await send(html(page), { via, method: "HEAD" });
    expect(head.body).toBe("");
    for (const status of [204, 304]) {
      const r = await send(html(page, `&status=${status}`), { via });
      expect(r.response.status).toBe(status);
      expect(tags(r.body)).toHaveLength(0);
    }
    const plain = await send(`/say/plain/page?type=text/html&body=${encodeURIComponent(page)}`, { via });
    expect(plain.body).toBe(page);
  });

  it("is served at its hashed path, immutable, as JavaScript; other hashes are not", async () => {
    const r = await send(SCRIPT_PATH, { via });
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(r.response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(r.body).toBe(METRICS_SCRIPT);
    expect((await send("/__canary/m.0000000000000000.js", { via })).response.status).toBe(401);
  });
});
