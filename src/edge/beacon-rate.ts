// Per isolate, per identity and route: how many browser events were accepted in the current
// minute (route.metricSources.maxEventsPerUser), so one client cannot flood the evidence.
// A fixed one-minute window per key, in a Map bounded to `maxKeys` entries: a key touched
// is moved to the end, and the least recently touched is dropped first, so memory stays
// bounded whatever the number of identities (a dropped key only starts a fresh window).

/** Keys kept per isolate: ~10,000 x ~80 bytes. */
export const RATE_KEYS = 10_000;
export const RATE_WINDOW_MS = 60_000;

interface Window {
  start: number;
  count: number;
}

export class BeaconRateLimit {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly maxKeys = RATE_KEYS) {}

  /** Takes up to `wanted` events for `key` under `limit` per minute at `now`; returns how many were granted. */
  take(key: string, wanted: number, limit: number, now: number): number {
    let w = this.windows.get(key);
    if (w !== undefined) this.windows.delete(key);
    if (w === undefined || now - w.start >= RATE_WINDOW_MS || now < w.start) w = { start: now, count: 0 };
    const granted = Math.max(0, Math.min(wanted, limit - w.count));
    w.count += granted;
    while (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, w);
    return granted;
  }

  get size(): number {
    return this.windows.size;
  }
}
