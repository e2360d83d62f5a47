// The coordinator's per-user metric table on a real Durable Object's SQLite: the moments
// kept incrementally on every upsert equal the ones computed from scratch over users, for
// each kind; the table is bounded, starts over with a new rollout key, and rebuilds its
// moments when the metric definitions change.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Coordinator } from "../../src/coordinator/coordinator.js";
import { MetricUserTable } from "../../src/coordinator/metric-users.js";
import { CoordinatorStore } from "../../src/coordinator/store.js";
import { MetricSchema, type MetricConfig } from "../../src/core/config/schema.js";
import type { MetricEvidence, MetricUsers } from "../../src/core/evidence.js";
import { userValue, type MomentStats } from "../../src/core/metrics/metric-stats.js";
import { createRandom } from "../../src/core/stats/prng.js";

const defs: MetricConfig[] = [
  MetricSchema.parse({ name: "checkout", kind: "conversion", better: "higher" }),
  MetricSchema.parse({ name: "quality", kind: "mean", better: "higher" }),
  MetricSchema.parse({ name: "errors", kind: "rate-per-user", better: "lower" }),
];

/** A delta of `n` user records drawn from `range` users: some exposed only, others with a few events (integer sums). */
function delta(seed: number, n: number, range: number): MetricEvidence {
  const r = createRandom(seed);
  const out: MetricEvidence = { stable: {}, canary: {} };
  for (let i = 0; i < n; i++) {
    const arm = r() < 0.5 ? out.stable : out.canary;
    const u = (arm[String(Math.floor(r() * range))] ??= {});
    for (const d of defs) {
      if (r() < 0.5) continue;
      const had = u[d.name] ?? [0, 0];
      u[d.name] = [had[0] + 1, had[1] + Math.floor(r() * 5)];
    }
  }
  return out;
}

/** Every delta summed per user, then moments over users by kind: what the table must match. */
function fromScratch(deltas: MetricEvidence[], def: MetricConfig, arm: "stable" | "canary"): MomentStats {
  const users: MetricUsers = {};
  for (const d of deltas) {
    for (const [user, events] of Object.entries(d[arm])) {
      const u = (users[user] ??= {});
      for (const [name, [c, s]] of Object.entries(events)) {
        const had = u[name] ?? [0, 0];
        u[name] = [had[0] + c, had[1] + s];
      }
    }
  }
  const m = { n: 0, sum: 0, sumSq: 0 };
  for (const events of Object.values(users)) {
    const v = userValue(def.kind, events[def.name]);
    if (v === undefined) continue;
    m.n++;
    m.sum += v;
    m.sumSq += v * v;
  }
  return m;
}

async function withTable(name: string, fn: (table: () => MetricUserTable, sql: SqlStorage) => void | Promise<void>, maxUsers?: number): Promise<void> {
  const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(name));
  await runInDurableObject(stub, async (_i: Coordinator, state) => {
    const store = new CoordinatorStore(state.storage.sql);
    // A fresh object per call: what a restarted coordinator reads back.
    const table = () => new MetricUserTable(state.storage.sql, { get: (k) => store.getMeta(k), set: (k, v) => store.setMeta(k, v) }, maxUsers);
    await fn(table, state.storage.sql);
  });
}

describe("MetricUserTable", () => {
  it("keeps each arm's moments over users equal to a computation from scratch, for every kind, across restarts", async () => {
    await withTable("mu-moments", (table) => {
      const deltas = [delta(1, 300, 200), delta(2, 300, 200), delta(3, 50, 400)];
      const t = table();
      t.apply("r1|0", defs, deltas[0]!);
      t.apply("r1|0", defs, deltas[1]!);
      // The third delta lands on a restarted object (moments read back from storage).
      table().apply("r1|0", defs, deltas[2]!);
      const inputs = table().inputs("r1|0", defs);
      for (const input of inputs) {
        for (const arm of ["stable", "canary"] as const) {
          const want = fromScratch(deltas, input.def, arm);
          expect(input[arm].n, `${input.def.name} ${arm}`).toBe(want.n);
          expect(input[arm].sum).toBeCloseTo(want.sum, 6);
          expect(input[arm].sumSq).toBeCloseTo(want.sumSq, 6);
        }
      }
      // Conversion and rate-per-user count every exposed user; a mean only users with a value.
      const [conv, mean] = inputs;
      expect(conv!.canary.n).toBeGreaterThan(mean!.canary.n);
    });
  });

  it("starts over for a new rollout key (a new release, a resume, set_step)", async () => {
    await withTable("mu-reset", (table, sql) => {
      table().apply("r1|0", defs, delta(4, 100, 100));
      expect(table().status("r1|0", defs).users).toBeGreaterThan(0);
      const fresh = table().inputs("r2|0", defs);
      expect(fresh.every((m) => m.stable.n === 0 && m.canary.n === 0)).toBe(true);
      expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM metric_users").one().n).toBe(0);
      expect(table().status("r2|0", defs)).toEqual({ users: 0, limit: 200_000, overflow: 0 });
    });
  });

  it("is bounded: users past the limit are counted as overflow, never attributed; known users still add", async () => {
    await withTable(
      "mu-bound",
      (table) => {
        const t = table();
        t.apply("r1|0", defs, { stable: { "1": {}, "2": { checkout: [1, 1] } }, canary: { "3": {} }, overflow: 2 });
        // Users 4 and 5 are new past the limit of 3: an exposure (1) and 2 events (2 + 1) are overflow.
        t.apply("r1|0", defs, { stable: { "1": { checkout: [1, 1] }, "4": { checkout: [2, 2] } }, canary: { "5": {} } });
        expect(t.status("r1|0", defs)).toEqual({ users: 3, limit: 3, overflow: 2 + 3 + 1 });
        const conv = t.inputs("r1|0", defs)[0]!;
        expect(conv.stable).toEqual({ n: 2, sum: 2, sumSq: 2 });
        expect(conv.canary).toEqual({ n: 1, sum: 0, sumSq: 0 });
      },
      3,
    );
  });

  it("rebuilds its moments from the rows when the definitions change (a kind edited, a metric added)", async () => {
    await withTable("mu-defs", (table) => {
      const deltas = [delta(5, 200, 150)];
      table().apply("r1|0", defs.slice(0, 2), deltas[0]!);
      const edited = [MetricSchema.parse({ name: "quality", kind: "rate-per-user", better: "higher" })];
      const [quality] = table().inputs("r1|0", edited);
      // Rows were kept only for the metrics defined when they arrived.
      const want = fromScratch(deltas, edited[0]!, "canary");
      expect(quality!.canary.n).toBe(want.n);
      expect(quality!.canary.sum).toBe(want.sum);
      expect(quality!.canary.sumSq).toBe(want.sumSq);
    });
  });
});
