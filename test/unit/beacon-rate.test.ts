// The per-isolate beacon rate limit: per key per minute, and a map that stays bounded.
import { describe, expect, it } from "vitest";
import { BeaconRateLimit, RATE_WINDOW_MS } from "../../src/edge/beacon-rate.js";

describe("BeaconRateLimit", () => {
  it("grants up to the limit per key and window, partly when a batch crosses it", () => {
    const l = new BeaconRateLimit();
    expect(l.take("a", 3, 5, 0)).toBe(3);
    expect(l.take("a", 3, 5, 1)).toBe(2);
    expect(l.take("a", 1, 5, 2)).toBe(0);
    expect(l.take("b", 5, 5, 2)).toBe(5);
    expect(l.take("a", 1, 5, RATE_WINDOW_MS - 1)).toBe(0);
    expect(l.take("a", 9, 5, RATE_WINDOW_MS)).toBe(5);
  });

  it("starts afresh when the clock goes back", () => {
    const l = new BeaconRateLimit();
    expect(l.take("a", 5, 5, 10_000)).toBe(5);
    expect(l.take("a", 5, 5, 0)).toBe(5);
  });

  it("keeps at most maxKeys keys, dropping the least recently touched", () => {
    const l = new BeaconRateLimit(100);
    for (let i = 0; i < 1000; i++) l.take(`k${i}`, 1, 1, 0);
    expect(l.size).toBe(100);
    // The newest 100 are kept: k999 is still limited, k0 was forgotten (a fresh window).
    expect(l.take("k999", 1, 1, 1)).toBe(0);
    expect(l.take("k0", 1, 1, 1)).toBe(1);
    expect(l.size).toBe(100);
    // Touching a key keeps it: k999 (touched, then k0 after it) outlives 98 newer keys, not 99.
    for (let i = 0; i < 98; i++) l.take(`n${i}`, 1, 1, 2);
    expect(l.take("k0", 1, 1, 3)).toBe(0);
    for (let i = 98; i < 99; i++) l.take(`n${i}`, 1, 1, 2);
    expect(l.take("k999", 1, 1, 3)).toBe(1);
  });
});
