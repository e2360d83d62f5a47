// The coordinator's SQLite schema as an ordered list of migrations, so an upgrade of a
// live Durable Object is a step, not a surprise. The version applied is kept in table
// `schema_version`; each migration runs with its version bump in one transaction, once.
// Every table of the object is here (store.ts and notifier.ts only read and write), and
// a migration is never edited once shipped: a change is a new, higher version.
//
// Version 1 is the schema objects had before versions were kept. Its statements say
// IF NOT EXISTS so that such an object, which has the tables but no version, passes
// through it unchanged and then takes the later steps with its data.

export interface Migration {
  version: number;
  /** What the step changes, for the reader and the error message. */
  summary: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    summary: "initial tables: meta, isolates, buckets (evidence), audit, outbox (webhooks)",
    sql: `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS isolates (isolate_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, seen_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
  release TEXT NOT NULL, step INTEGER NOT NULL, start INTEGER NOT NULL, evidence TEXT NOT NULL,
  PRIMARY KEY (release, step, start));
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL,
  release TEXT NOT NULL, from_phase TEXT, to_phase TEXT NOT NULL, epoch INTEGER NOT NULL, step INTEGER NOT NULL,
  weight REAL NOT NULL, reason TEXT NOT NULL, explanation TEXT, config_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT);`,
  },
  {
    version: 2,
    summary: "the evidence table is named after its rows, 10 s windows (cohorts are the buckets)",
    sql: "ALTER TABLE buckets RENAME TO windows;",
  },
  {
    version: 3,
    summary: "audit rows number steps from 1, as people and the admin API do (steps.weights index + 1)",
    sql: "UPDATE audit SET step = step + 1;",
  },
  {
    version: 4,
    summary: "audit rows name the stage of the plan they were made in (\"shadow 10%\", \"5%\"); older rows have none",
    sql: "ALTER TABLE audit ADD COLUMN stage TEXT;",
  },
  {
    version: 5,
    summary: "per-user metric events of the rollout (metric_users: one row per arm, user and metric; metric '' marks an exposed user)",
    sql: `
CREATE TABLE metric_users (
  arm TEXT NOT NULL, user INTEGER NOT NULL, metric TEXT NOT NULL, count REAL NOT NULL, sum REAL NOT NULL,
  PRIMARY KEY (arm, user, metric));`,
  },
];

/** The version a fully migrated object is at. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The version `sql` is at: 0 for an object without `schema_version` (new, or from before versions were kept). */
export function schemaVersion(sql: SqlStorage): number {
  const table = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").one();
  if (table.n === 0) return 0;
  return sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
}

/** Applies the migrations `storage` has not had yet, in order; a no-op when it is current. */
export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[] = MIGRATIONS): void {
  const sql = storage.sql;
  let at = schemaVersion(sql);
  for (const m of migrations) {
    if (m.version <= at) continue;
    try {
      storage.transactionSync(() => {
        sql.exec(m.sql);
        sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        sql.exec("DELETE FROM schema_version");
        sql.exec("INSERT INTO schema_version (version) VALUES (?)", m.version);
      });
    } catch (e) {
      // The transaction rolled back: the object stays at version `at`, whole.
      throw new Error(`coordinator schema migration ${m.version} (${m.summary}) failed at version ${at}: ${(e as Error).message}`);
    }
    at = m.version;
  }
}
