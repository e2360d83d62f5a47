// Table-driven tests of the admin API's query validation and the wrong-token backoff.
import { describe, expect, it } from "vitest";
import { AuthBackoff, FREE_FAILURES } from "../../src/admin/auth-backoff.js";
import { checkParams, parseEventsQuery } from "../../src/core/admin-query.js";

describe("parseEventsQuery", () => {
  it.each([
    { q: "", want: { limit: 50 } },
    { q: "limit=1&before=7&route=www", want: { limit: 1, before: 7, route: "www" } },
    { q: "limit=500", want: { limit: 500 } },
  ])("?$q -> ok", ({ q, want }) => {
    expect(parseEventsQuery(new URLSearchParams(q))).toEqual({ ok: true, value: want });
  });

  it.each([
    { q: "before=abc", error: 'query parameter before must be an audit id (a positive integer), got "abc"' },
    { q: "before=0", error: /^query parameter before / },
    { q: "before=-3", error: /^query parameter before / },
    { q: "before=1e3", error: /^query parameter before / },
    { q: "before=99999999999999999", error: /^query parameter before / },
    { q: "limit=abc", error: 'query parameter limit must be an integer from 1 to 500, got "abc"' },
    { q: "limit=0", error: /^query parameter limit / },
    { q: "limit=501", error: /^query parameter limit / },
    { q: "limit=2.5", error: /^query parameter limit / },
    { q: "limit=", error: /^query parameter limit / },
    { q: "route=WWW", error: /^query parameter route must be a route id/ },
    { q: "route=", error: /^query parameter route / },
    { q: "limit=1&limit=2", error: 'query parameter "limit" given more than once' },
    { q: "lmit=5", error: 'unknown query parameter "lmit": events takes route, limit, before' },
  ])("?$q -> 400 naming the parameter", ({ q, error }) => {
    const r = parseEventsQuery(new URLSearchParams(q));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(typeof error === "string" ? new RegExp(`^${error.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : error);
  });

  it("status takes no parameters", () => {
    expect(checkParams(new URLSearchParams("x=1"), [], "status")).toEqual({ ok: false, error: 'unknown query parameter "x": status takes none' });
    expect(checkParams(new URLSearchParams(""), [], "status").ok).toBe(true);
  });
});

describe("AuthBackoff", () => {
  it("lets FREE_FAILURES wrong tokens through, then doubles the wait per failure, and a right token clears it", () => {
    const b = new AuthBackoff();
    for (let i = 0; i < FREE_FAILURES; i++) {
      expect(b.retryAfterMs("1.2.3.4", 0)).toBe(0);
      b.failed("1.2.3.4", 0);
    }
    expect(b.retryAfterMs("1.2.3.4", 0)).toBe(0);
    b.failed("1.2.3.4", 0);
    expect(b.retryAfterMs("1.2.3.4", 0)).toBe(1000);
    b.failed("1.2.3.4", 1000);
    expect(b.retryAfterMs("1.2.3.4", 1000)).toBe(2000);
    expect(b.retryAfterMs("5.6.7.8", 1000)).toBe(0); // per client
    for (let i = 0; i < 40; i++) b.failed("1.2.3.4", 2000);
    expect(b.retryAfterMs("1.2.3.4", 2000)).toBe(5 * 60_000); // capped
    b.succeeded("1.2.3.4");
    expect(b.retryAfterMs("1.2.3.4", 2000)).toBe(0);
  });

  it("forgets a quiet client and holds at most 1024 clients", () => {
    const b = new AuthBackoff();
    for (let i = 0; i < FREE_FAILURES + 1; i++) b.failed("a", 0);
    expect(b.retryAfterMs("a", 500)).toBeGreaterThan(0);
    expect(b.retryAfterMs("a", 16 * 60_000)).toBe(0);
    for (let i = 0; i < 5000; i++) b.failed(`10.0.${i >> 8}.${i & 255}`, i);
    expect(b.size).toBe(1024);
  });
});
