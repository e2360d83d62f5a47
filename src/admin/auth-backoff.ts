// Slows down repeated wrong admin tokens from one client (CF-Connecting-IP), in this
// isolate: after FREE_FAILURES wrong tokens every further attempt, right or wrong, is
// answered 429 with Retry-After for a delay that doubles per failure up to MAX_DELAY_MS,
// without checking the token (else a guess would still learn its answer at full
// speed). A right token clears the client. Given up: isolates do not share counts, so
// this bounds a guesser per isolate, not worldwide (a Cloudflare rate-limiting rule on
// the admin path does that); the map is bounded, the least recently failing client
// dropped first, so a flood of addresses cannot grow memory.

/** Wrong tokens a client may send before it is slowed down. */
export const FREE_FAILURES = 5;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 5 * 60_000;
/** A client quiet for this long starts over. */
const FORGET_MS = 15 * 60_000;
const MAX_CLIENTS = 1024;

interface Failures {
  count: number;
  lastAt: number;
  blockedUntil: number;
}

export class AuthBackoff {
  private readonly clients = new Map<string, Failures>();

  /** ms this client must wait before its next attempt is looked at; 0 when it may try now. */
  retryAfterMs(client: string, now: number): number {
    const f = this.clients.get(client);
    if (!f) return 0;
    if (now - f.lastAt > FORGET_MS) {
      this.clients.delete(client);
      return 0;
    }
    return Math.max(0, f.blockedUntil - now);
  }

  failed(client: string, now: number): void {
    const prev = this.clients.get(client);
    const count = prev && now - prev.lastAt <= FORGET_MS ? prev.count + 1 : 1;
    const over = count - FREE_FAILURES;
    const blockedUntil = over > 0 ? now + Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(over - 1, 20)) : now;
    // Re-inserted so the map's order is least recently failing first.
    this.clients.delete(client);
    this.clients.set(client, { count, lastAt: now, blockedUntil });
    if (this.clients.size > MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
  }

  succeeded(client: string): void {
    this.clients.delete(client);
  }

  get size(): number {
    return this.clients.size;
  }
}

/** The client a failure is counted against: Cloudflare's view of the connecting address. */
export const clientOf = (request: Request): string => request.headers.get("cf-connecting-ip") ?? "unknown";
