// The coordinator's SQLite storage: one table per concept, documented in README
// "Storage keys", created and upgraded by schema.ts. Synchronous SQL calls with no
// await between them commit together, so a sync's dedupe check, its evidence merge and
// its seq bump are atomic.
import { emptyEvidence, mergeEvidence, type Evidence } from "../core/evidence.js";
import type { RolloutState } from "../core/rollout/state.js";
import type { AuditEntry } from "../core/admin-protocol.js";
import type { Explanation } from "../core/stats/decision-engine.js";
import type { RolloutExplanation } from "../core/stats/rollout-engine.js";

/** Width of an evidence window. */
export const WINDOW_MS = 10_000;
/** How long windows of other releases are kept (the stable history a next rollout's thresholds start from). */
export const WINDOW_RETENTION_MS = 60 * 60_000;
/**
 * How long the current release's windows are kept: the evidence a restarted coordinator
 * rebuilds the rollout's test from. A rollout that runs longer (a manual canary left on
 * for days) keeps its last 6 h in storage; the running engine never forgets (its memo holds
 * every window it has seen), only a restart starts from the last 6 h.
 */
export const ROLLOUT_RETENTION_MS = 6 * 60 * 60_000;
/**
 * Windows of the current step kept parsed in memory (5 min); older ones are summed
 * (stepTotal). The engine reads only the windows past its memo's frontier (a second or
 * two), and a rebuild reads SQLite, so this is slack for late readers, not a lookback.
 */
export const STEP_CACHE_WINDOWS = 30;
/** Audit rows kept per route. */
export const AUDIT_RETENTION_ROWS = 2000;
/** Isolates not heard from for this long are forgotten (their seq no longer deduped). */
export const ISOLATE_RETENTION_MS = 10 * 60_000;

export interface EvidenceWindow {
  release: string;
  step: number;
  start: number;
  evidence: Evidence;
}

export class CoordinatorStore {
  private state: RolloutState | undefined;
  private stateLoaded = false;
  /**
   * The current step's newest evidence windows, parsed, oldest first: the engine reads them
   * on every sync and alarm (up to 4 times a second), so they are parsed from SQLite once per
   * step and then kept in step with applyDelta. At most STEP_CACHE_WINDOWS; the evidence of
   * older ones is summed in `older`, so a step of days holds bounded memory. This object is
   * the only writer of the table.
   */
  private stepCache: { release: string; step: number; since: number; windows: EvidenceWindow[]; older: Evidence } | undefined;

  /** `sql` must be migrated (schema.ts) first. */
  constructor(private readonly sql: SqlStorage) {}

  getMeta<T>(key: string): T | undefined {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }

  deleteMeta(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE key = ?", key);
  }

  /** The rollout state; read from SQLite once, then served from memory (this object is its only writer). */
  loadState(): RolloutState | undefined {
    if (!this.stateLoaded) {
      this.state = this.getMeta<RolloutState>("state");
      this.stateLoaded = true;
    }
    return this.state;
  }

  saveState(state: RolloutState): void {
    this.setMeta("state", state);
    this.state = state;
    this.stateLoaded = true;
  }

  /**
   * Applies a delta once per (isolate, seq); returns false for a duplicate. `evidence`
   * is the state's fresh window (RolloutState.evidenceSince): a delta lands in a window
   * starting no earlier than `since` (the first one after a restart is shorter than
   * WINDOW_MS), or, when served under an older epoch (`stale`), in the window before it,
   * which the engine does not read.
   */
  applyDelta(isolateId: string, seq: number, release: string, step: number, now: number, delta: Evidence, evidence: { since: number; stale: boolean } = { since: 0, stale: false }): boolean {
    const row = this.sql.exec<{ last_seq: number }>("SELECT last_seq FROM isolates WHERE isolate_id = ?", isolateId).toArray()[0];
    if (row && seq <= row.last_seq) return false;
    this.sql.exec(
      "INSERT OR REPLACE INTO isolates (isolate_id, last_seq, seen_at) VALUES (?, ?, ?)",
      isolateId,
      seq,
      now,
    );
    const aligned = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    const start = evidence.stale ? Math.min(aligned, Math.floor((evidence.since - 1) / WINDOW_MS) * WINDOW_MS) : Math.max(aligned, evidence.since);
    const c = this.stepCache;
    const cache = c?.release === release && c.step === step && start >= c.since ? c.windows : undefined;
    // Where this window is, or goes, in the cached list (oldest first).
    const at = cache ? cache.findIndex((b) => b.start >= start) : -1;
    let existing: Evidence | undefined;
    if (cache) existing = at !== -1 && cache[at]!.start === start ? cache[at]!.evidence : undefined;
    else {
      const row = this.sql
        .exec<{ evidence: string }>("SELECT evidence FROM windows WHERE release = ? AND step = ? AND start = ?", release, step, start)
        .toArray()[0];
      existing = row ? (JSON.parse(row.evidence) as Evidence) : undefined;
    }
    const merged = mergeEvidence(existing ?? emptyEvidence(), delta);
    this.sql.exec(
      "INSERT OR REPLACE INTO windows (release, step, start, evidence) VALUES (?, ?, ?, ?)",
      release,
      step,
      start,
      JSON.stringify(merged),
    );
    if (cache) {
      const window = { release, step, start, evidence: merged };
      if (at === -1) cache.push(window);
      else cache.splice(at, existing ? 1 : 0, window);
      this.trimStepCache();
    }
    return true;
  }

  /**
   * The newest evidence windows of one step from `since` on (at most STEP_CACHE_WINDOWS),
   * oldest first, from memory after the first read. Do not mutate. Every window of the step
   * is in windows(); their sum is stepTotal().
   */
  stepWindows(release: string, step: number, since = 0): readonly EvidenceWindow[] {
    return this.loadStep(release, step, since).windows;
  }

  /** The summed evidence of one step from `since` on (what storage had when the step was first read, and every delta since). */
  stepTotal(release: string, step: number, since = 0): Evidence {
    const c = this.loadStep(release, step, since);
    return c.windows.reduce((acc, w) => mergeEvidence(acc, w.evidence), c.older);
  }

  private loadStep(release: string, step: number, since: number): NonNullable<CoordinatorStore["stepCache"]> {
    if (this.stepCache?.release !== release || this.stepCache.step !== step || this.stepCache.since !== since) {
      this.stepCache = { release, step, since, windows: this.windows(release, since, step), older: emptyEvidence() };
      this.trimStepCache();
    }
    return this.stepCache;
  }

  private trimStepCache(): void {
    const c = this.stepCache;
    if (!c || c.windows.length <= STEP_CACHE_WINDOWS) return;
    const dropped = c.windows.splice(0, c.windows.length - STEP_CACHE_WINDOWS);
    c.older = dropped.reduce((acc, w) => mergeEvidence(acc, w.evidence), c.older);
  }

  /** Windows of one release, optionally one step, from `since` on, oldest first. */
  windows(release: string, since: number, step?: number): EvidenceWindow[] {
    const rows =
      step === undefined
        ? this.sql.exec<{ release: string; step: number; start: number; evidence: string }>(
            "SELECT release, step, start, evidence FROM windows WHERE release = ? AND start >= ? ORDER BY start",
            release,
            since,
          )
        : this.sql.exec<{ release: string; step: number; start: number; evidence: string }>(
            "SELECT release, step, start, evidence FROM windows WHERE release = ? AND step = ? AND start >= ? ORDER BY start",
            release,
            step,
            since,
          );
    return rows.toArray().map((r) => ({ release: r.release, step: r.step, start: r.start, evidence: JSON.parse(r.evidence) as Evidence }));
  }

  /** Windows of every release and step in [from, to), oldest first. */
  windowsBetween(from: number, to: number): EvidenceWindow[] {
    return this.sql
      .exec<{ release: string; step: number; start: number; evidence: string }>(
        "SELECT release, step, start, evidence FROM windows WHERE start >= ? AND start < ? ORDER BY start",
        from,
        to,
      )
      .toArray()
      .map((r) => ({ release: r.release, step: r.step, start: r.start, evidence: JSON.parse(r.evidence) as Evidence }));
  }

  activeIsolates(now: number, withinMs: number): number {
    const row = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM isolates WHERE seen_at >= ?", now - withinMs).toArray()[0];
    return row?.n ?? 0;
  }

  appendAudit(entry: Omit<AuditEntry, "id">): void {
    this.sql.exec(
      `INSERT INTO audit (at, actor, event, release, from_phase, to_phase, epoch, step, weight, stage, reason, explanation, config_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      entry.at,
      entry.actor,
      entry.event,
      entry.release,
      entry.fromPhase,
      entry.toPhase,
      entry.epoch,
      entry.step,
      entry.weight,
      entry.stage ?? null,
      entry.reason,
      entry.explanation === undefined ? null : JSON.stringify(entry.explanation),
      entry.configHash,
    );
  }

  /** Newest first; `before` is an audit id for paging. */
  audit(limit: number, before?: number): AuditEntry[] {
    const rows = this.sql
      .exec<Record<string, string | number | null>>(
        "SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?",
        before ?? Number.MAX_SAFE_INTEGER,
        limit,
      )
      .toArray();
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      actor: String(r.actor),
      event: String(r.event),
      release: String(r.release),
      fromPhase: r.from_phase === null ? null : String(r.from_phase),
      toPhase: String(r.to_phase),
      epoch: Number(r.epoch),
      step: Number(r.step),
      weight: Number(r.weight),
      ...(r.stage === null || r.stage === undefined ? {} : { stage: String(r.stage) }),
      reason: String(r.reason),
      explanation: r.explanation === null ? undefined : (JSON.parse(String(r.explanation)) as Explanation | RolloutExplanation),
      configHash: String(r.config_hash),
    }));
  }

  /** Drops old evidence windows (the current release's after ROLLOUT_RETENTION_MS), old audit rows and idle isolates. */
  prune(now: number, current: { release: string; step: number } | undefined): void {
    if (this.stepCache && (this.stepCache.release !== current?.release || this.stepCache.step !== current.step)) this.stepCache = undefined;
    this.sql.exec("DELETE FROM windows WHERE start < ? AND release <> ?", now - WINDOW_RETENTION_MS, current?.release ?? "");
    this.sql.exec("DELETE FROM windows WHERE start < ?", now - ROLLOUT_RETENTION_MS);
    this.sql.exec("DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?", AUDIT_RETENTION_ROWS);
    this.sql.exec("DELETE FROM isolates WHERE seen_at < ?", now - ISOLATE_RETENTION_MS);
  }
}
