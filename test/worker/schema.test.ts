// The coordinator's SQLite migrations on a real Durable Object: an object from before
// versions were kept (version-1 tables, no schema_version) keeps its data through the
// upgrade, and migrating a current object again changes nothing.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Coordinator } from "../../src/coordinator/coordinator.js";
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from "../../src/coordinator/schema.js";
import { CoordinatorStore } from "../../src/coordinator/store.js";
import { emptyEvidence, recordOutcome } from "../../src/core/evidence.js";

const tables = (sql: SqlStorage): string[] =>
  sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name != 'sqlite_sequence' ORDER BY name")
    .toArray()
    .map((r) => r.name);

describe("migrate", () => {
  it("upgrades an object with the version-1 schema and no version, keeping its evidence and audit rows", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("legacy-v1"));
    await runInDurableObject(stub, async (_instance: Coordinator, state) => {
      const sql = state.storage.sql;
      // The object as it was before versions were kept: drop what the constructor made,
      // then build version 1 by hand, with a row in each table that holds history.
      for (const t of tables(sql)) sql.exec(`DROP TABLE ${t}`);
      sql.exec(MIGRATIONS[0]!.sql);
      const evidence = emptyEvidence();
      recordOutcome(evidence, "canary", true, 42);
      sql.exec("INSERT INTO buckets (release, step, start, evidence) VALUES (?, ?, ?, ?)", "r1", 0, 1_700_000_000_000, JSON.stringify(evidence));
      sql.exec(
        `INSERT INTO audit (at, actor, event, release, from_phase, to_phase, epoch, step, weight, reason, explanation, config_hash)
         VALUES (1, 'config', 'config', 'r1', NULL, 'progressing', 1, 0, 5, 'new release r1', NULL, 'abcd1234')`,
      );
      expect(schemaVersion(sql)).toBe(0);

      const { Coordinator: Cls } = await import("../../src/coordinator/coordinator.js");
      const upgraded = new Cls(state, env); // the constructor migrates
      expect(schemaVersion(sql)).toBe(SCHEMA_VERSION);
      expect(tables(sql)).toEqual(["audit", "isolates", "meta", "metric_users", "outbox", "schema_version", "windows"]);
      const store = new CoordinatorStore(sql);
      expect(store.windows("r1", 0)).toEqual([{ release: "r1", step: 0, start: 1_700_000_000_000, evidence: JSON.parse(JSON.stringify(evidence)) }]);
      // Migration 3: the audit row's step 0 (an index) reads as step 1, as people count.
      expect(await upgraded.events(10)).toMatchObject([{ id: 1, release: "r1", step: 1, reason: "new release r1", configHash: "abcd1234" }]);
    });
  });

  it("is a no-op on a current object, however often it runs", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("current"));
    await runInDurableObject(stub, (_instance: Coordinator, state) => {
      const sql = state.storage.sql;
      expect(schemaVersion(sql)).toBe(SCHEMA_VERSION);
      const store = new CoordinatorStore(sql);
      const delta = emptyEvidence();
      recordOutcome(delta, "stable", false, 10);
      store.applyDelta("isolate-a", 1, "r1", 0, 1_700_000_000_000, delta);
      const before = { tables: tables(sql), windows: store.windows("r1", 0) };
      migrate(state.storage);
      migrate(state.storage);
      expect(schemaVersion(sql)).toBe(SCHEMA_VERSION);
      expect({ tables: tables(sql), windows: store.windows("r1", 0) }).toEqual(before);
      expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM schema_version").one().n).toBe(1);
    });
  });

  it("rolls a failing step back whole and names it", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("failing-step"));
    await runInDurableObject(stub, (_instance: Coordinator, state) => {
      const broken = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, summary: "a broken step", sql: "CREATE TABLE half (x INTEGER); ALTER TABLE missing RENAME TO gone;" }];
      expect(() => migrate(state.storage, broken)).toThrow(`coordinator schema migration ${SCHEMA_VERSION + 1} (a broken step) failed at version ${SCHEMA_VERSION}`);
      expect(schemaVersion(state.storage.sql)).toBe(SCHEMA_VERSION);
      expect(tables(state.storage.sql)).not.toContain("half");
    });
  });
});
