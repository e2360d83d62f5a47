// The beacon body parser takes hostile text: it accepts exactly the documented shape,
// refuses everything else with a message, and never throws.
import { describe, expect, it } from "vitest";
import { MAX_BEACON_BYTES, MAX_BEACON_EVENTS, parseBeaconPayload } from "../../src/core/metrics/beacon-payload.js";

describe("parseBeaconPayload", () => {
  it("reads page, source and events; value defaults to 1; unknown keys (a claimed variant) are ignored", () => {
    const r = parseBeaconPayload(JSON.stringify({ page: "/a", source: "script", variant: "canary", events: [{ name: "checkout" }, { name: "lcp", value: 1234.5, variant: "canary" }] }));
    expect(r).toEqual({ ok: true, value: { page: "/a", source: "script", events: [{ name: "checkout", value: 1 }, { name: "lcp", value: 1234.5 }] } });
    const plain = parseBeaconPayload('{"events":[{"name":"x","value":0}]}');
    expect(plain).toEqual({ ok: true, value: { page: undefined, source: "beacon", events: [{ name: "x", value: 0 }] } });
    expect(parseBeaconPayload('{"source":"origin","events":[{"name":"x"}]}')).toMatchObject({ ok: true, value: { source: "beacon" } });
  });

  it("refuses what is not the shape, whole", () => {
    const hostile = [
      "",
      "{",
      "null",
      "[]",
      '"events"',
      "1e999",
      '{"events":{}}',
      '{"events":[]}',
      '{"events":[null]}',
      '{"events":[[]]}',
      '{"events":[{"name":""}]}',
      `{"events":[{"name":"${"n".repeat(65)}"}]}`,
      '{"events":[{"name":1}]}',
      '{"events":[{"name":"x","value":"1"}]}',
      '{"events":[{"name":"x","value":null}]}',
      '{"events":[{"name":"x","value":1e10}]}',
      '{"events":[{"name":"x","value":-1e10}]}',
      '{"events":[{"name":"x","value":true}]}',
      '{"events":[{"name":"x"}],"page":"relative"}',
      '{"events":[{"name":"x"}],"page":7}',
      `{"events":[{"name":"x"}],"page":"/${"p".repeat(2048)}"}`,
      '{"events":[{"name":"ok"},{"name":{"toString":"x"}}]}',
      '{"__proto__":{"events":[{"name":"x"}]}}',
      JSON.stringify({ events: Array.from({ length: MAX_BEACON_EVENTS + 1 }, () => ({ name: "x" })) }),
      JSON.stringify({ events: [{ name: "x" }], pad: "x".repeat(MAX_BEACON_BYTES) }),
      "[".repeat(5000) + "]".repeat(5000),
    ];
    for (const text of hostile) {
      const r = parseBeaconPayload(text);
      expect(r.ok, text.slice(0, 60)).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
    }
  });

  it("accepts the largest allowed beacon", () => {
    const events = Array.from({ length: MAX_BEACON_EVENTS }, (_, i) => ({ name: `m${i}`.padEnd(32, "x"), value: -1e9 + i }));
    const r = parseBeaconPayload(JSON.stringify({ page: "/", events }));
    expect(r.ok && r.value.events.length).toBe(MAX_BEACON_EVENTS);
  });
});
