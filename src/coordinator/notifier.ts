// Webhook delivery from the coordinator: every decision is written to a bounded SQLite
// outbox in the same synchronous step as the state change, so a crash cannot lose it;
// delivery happens after, with retries and exponential backoff driven by the object's
// alarm. Given up: exactly-once (a receiver may see a retry of a message it took but
// whose 2xx we never got); messages carry the epoch so receivers can dedupe.
import { retryDelayMs, webhookMessage, type DecisionRecord } from "../core/notification.js";

/** Outbox rows kept; the oldest undelivered are dropped (and logged) beyond this. */
export const OUTBOX_LIMIT = 100;
const DELIVERY_TIMEOUT_MS = 5000;

export class Notifier {
  private flushing = false;

  /** `sql` must be migrated (schema.ts) first: the outbox table is created there. */
  constructor(private readonly sql: SqlStorage) {}

  /** Queues a decision for `url` (synchronous: commits with the state change). */
  enqueue(url: string, decision: DecisionRecord, now: number): void {
    this.sql.exec("INSERT INTO outbox (url, body, next_at) VALUES (?, ?, ?)", url, JSON.stringify(webhookMessage(decision)), now);
    const dropped = this.sql
      .exec<{ id: number }>("SELECT id FROM outbox ORDER BY id DESC LIMIT -1 OFFSET ?", OUTBOX_LIMIT)
      .toArray();
    if (dropped.length > 0) {
      this.sql.exec("DELETE FROM outbox WHERE id <= ?", dropped[0]!.id);
      console.error(JSON.stringify({ level: "warn", msg: "webhook outbox full: dropped oldest notifications", dropped: dropped.length }));
    }
  }

  /** When the next delivery attempt is due, if any. */
  nextDueAt(): number | undefined {
    const row = this.sql.exec<{ next_at: number | null }>("SELECT MIN(next_at) AS next_at FROM outbox").toArray()[0];
    return row?.next_at ?? undefined;
  }

  pending(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").toArray()[0]?.n ?? 0;
  }

  /** Delivers every due message once; failures are rescheduled or, past maxAttempts, dropped. */
  async flush(now: () => number, maxAttempts: number): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const due = this.sql
        .exec<{ id: number; url: string; body: string; attempts: number }>(
          "SELECT id, url, body, attempts FROM outbox WHERE next_at <= ? ORDER BY id",
          now(),
        )
        .toArray();
      for (const m of due) {
        const error = await deliver(m.url, m.body);
        if (error === undefined) {
          this.sql.exec("DELETE FROM outbox WHERE id = ?", m.id);
          continue;
        }
        const attempts = m.attempts + 1;
        if (attempts >= maxAttempts) {
          this.sql.exec("DELETE FROM outbox WHERE id = ?", m.id);
          console.error(JSON.stringify({ level: "error", msg: "webhook delivery failed for good", url: m.url, attempts, error }));
        } else {
          this.sql.exec(
            "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
            attempts,
            now() + retryDelayMs(attempts),
            error,
            m.id,
          );
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** One POST; undefined on a 2xx, else what went wrong. */
async function deliver(url: string, body: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "edge-canary-webhook/1" },
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (e) {
    return (e as Error).message;
  }
}
