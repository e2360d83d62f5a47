// The rollout's per-user metric events in the coordinator's SQLite (table metric_users,
// schema.ts): per arm and user, one row per metric with the user's [count, sum] since the
// rollout's evidence began, and one row with metric '' for every exposed user (the
// denominator of conversion and rate-per-user). Beside it, each arm's moments over users
// per metric (MomentStats) are kept up to date on every upsert: a user's old value is
// taken out and the new one put in (userValue by kind), so a sync costs in proportion to
// the users of its delta, not of the rollout. The table holds one rollout: it is emptied
// when the rollout's evidence restarts (a new release, a resume, set_step: the key is
// release and RolloutState.rolloutEvidenceSince), and bounded at MAX_METRIC_USER_ROWS users;
// users beyond are counted as overflow and never attributed.
import type { MetricConfig, Variant } from "../core/config/schema.js";
import type { MetricEvidence, MetricUsers } from "../core/evidence.js";
import { emptyMoments, userValue, type MetricInput, type MomentStats, type UserMetric } from "../core/metrics/metric-stats.js";

/** Users (both arms) one rollout keeps at most; beyond, a new user's events are only counted. */
export const MAX_METRIC_USER_ROWS = 200_000;

/** The exposure row's metric name (no metric name is empty). */
const EXPOSED = "";
const META_KEY = "metricMoments";
/** Users read per query: a Durable Object's SQLite takes at most 100 bound parameters per statement (the arm is one). */
const READ_BATCH = 99;

/** Per arm and metric, the moments over users; persisted in meta so a restart does not rescan the table. */
interface Moments {
  /** Which rollout the table holds (release|rolloutEvidenceSince). */
  key: string;
  /** Which metric definitions the moments are of (names and kinds): another set is rebuilt from the rows. */
  defs: string;
  users: number;
  /** Events and exposures of users beyond MAX_METRIC_USER_ROWS, and the deltas' own overflow. */
  overflow: number;
  arms: Record<Variant, Record<string, MomentStats>>;
}

export interface MetricUsersStatus {
  users: number;
  limit: number;
  overflow: number;
}

const defsKey = (defs: readonly MetricConfig[]): string => defs.map((d) => `${d.name}:${d.kind}`).join(",");

export class MetricUserTable {
  private moments: Moments | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly meta: { get<T>(key: string): T | undefined; set(key: string, value: unknown): void },
    private readonly maxUsers = MAX_METRIC_USER_ROWS,
  ) {}

  /** Adds one delta's per-user events of the rollout `key`; synchronous, so it commits with the sync's other writes. */
  apply(key: string, defs: readonly MetricConfig[], delta: MetricEvidence): void {
    const m = this.current(key, defs);
    m.overflow += delta.overflow ?? 0;
    const kinds = new Map(defs.map((d) => [d.name, d.kind]));
    for (const arm of ["stable", "canary"] as const) this.applyArm(m, arm, delta[arm], kinds);
    this.meta.set(META_KEY, m);
  }

  /** The engine's input: each metric of `defs` with both arms' moments over users. */
  inputs(key: string, defs: readonly MetricConfig[]): MetricInput[] {
    const m = this.current(key, defs);
    return defs.map((def) => ({ def, stable: { ...(m.arms.stable[def.name] ?? emptyMoments()) }, canary: { ...(m.arms.canary[def.name] ?? emptyMoments()) } }));
  }

  status(key: string, defs: readonly MetricConfig[]): MetricUsersStatus {
    const m = this.current(key, defs);
    return { users: m.users, limit: this.maxUsers, overflow: m.overflow };
  }

  private applyArm(m: Moments, arm: Variant, users: MetricUsers, kinds: Map<string, MetricConfig["kind"]>): void {
    const moments = m.arms[arm];
    const known = this.rowsOf(arm, Object.keys(users).map(Number));
    for (const [user, events] of Object.entries(users)) {
      const id = Number(user);
      const had = known.get(id) ?? new Map<string, UserMetric>();
      if (!had.has(EXPOSED)) {
        if (m.users >= this.maxUsers) {
          m.overflow += 1 + Object.values(events).reduce((n, [count]) => n + count, 0);
          continue;
        }
        this.sql.exec("INSERT INTO metric_users (arm, user, metric, count, sum) VALUES (?, ?, ?, 0, 0)", arm, id, EXPOSED);
        m.users += 1;
        // An exposed user without events is a 0 of every conversion and rate-per-user.
        for (const [name, kind] of kinds) if (kind !== "mean") add((moments[name] ??= emptyMoments()), userValue(kind, undefined), 1);
      }
      for (const [name, [count, sum]] of Object.entries(events)) {
        const kind = kinds.get(name);
        if (kind === undefined || count <= 0) continue;
        const old = had.get(name);
        const now: UserMetric = old ? [old[0] + count, old[1] + sum] : [count, sum];
        this.sql.exec("INSERT OR REPLACE INTO metric_users (arm, user, metric, count, sum) VALUES (?, ?, ?, ?, ?)", arm, id, name, now[0], now[1]);
        const s = (moments[name] ??= emptyMoments());
        add(s, userValue(kind, old), -1);
        add(s, userValue(kind, now), 1);
      }
    }
  }

  /** The stored rows of `ids`, per user and metric: read READ_BATCH users per query (a query per user costs more than its rows). */
  private rowsOf(arm: Variant, ids: readonly number[]): Map<number, Map<string, UserMetric>> {
    const out = new Map<number, Map<string, UserMetric>>();
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const batch = ids.slice(i, i + READ_BATCH);
      const rows = this.sql.exec<{ user: number; metric: string; count: number; sum: number }>(
        `SELECT user, metric, count, sum FROM metric_users WHERE arm = ? AND user IN (${batch.map(() => "?").join(",")})`,
        arm,
        ...batch,
      );
      for (const r of rows) {
        let u = out.get(r.user);
        if (!u) out.set(r.user, (u = new Map()));
        u.set(r.metric, [r.count, r.sum]);
      }
    }
    return out;
  }

  /** The moments of rollout `key` over `defs`: emptied for a new rollout, rebuilt from the rows for new definitions. */
  private current(key: string, defs: readonly MetricConfig[]): Moments {
    const m = (this.moments ??= this.meta.get<Moments>(META_KEY));
    const signature = defsKey(defs);
    if (m?.key === key && m.defs === signature) return m;
    if (m?.key !== key) {
      this.sql.exec("DELETE FROM metric_users");
      this.moments = { key, defs: signature, users: 0, overflow: 0, arms: { stable: {}, canary: {} } };
    } else this.moments = this.rebuild(m, defs);
    this.meta.set(META_KEY, this.moments);
    return this.moments;
  }

  /** The moments recomputed from every row (a metric's kind changed, or one was added): rare, O(rows). */
  private rebuild(m: Moments, defs: readonly MetricConfig[]): Moments {
    const out: Moments = { key: m.key, defs: defsKey(defs), users: 0, overflow: m.overflow, arms: { stable: {}, canary: {} } };
    const byUser = new Map<string, Map<string, UserMetric>>();
    for (const r of this.sql.exec<{ arm: string; user: number; metric: string; count: number; sum: number }>("SELECT arm, user, metric, count, sum FROM metric_users")) {
      const k = `${r.arm}|${r.user}`;
      let u = byUser.get(k);
      if (!u) byUser.set(k, (u = new Map()));
      u.set(r.metric, [r.count, r.sum]);
    }
    for (const [k, u] of byUser) {
      if (!u.has(EXPOSED)) continue;
      out.users += 1;
      const arm = out.arms[k.slice(0, k.indexOf("|")) as Variant];
      if (!arm) continue;
      for (const d of defs) {
        const v = userValue(d.kind, u.get(d.name));
        add((arm[d.name] ??= emptyMoments()), v, 1);
      }
    }
    return out;
  }
}

/** Adds (sign 1) or takes out (sign -1) one user's value; undefined: the user is not in this denominator. */
function add(s: MomentStats, value: number | undefined, sign: 1 | -1): void {
  if (value === undefined) return;
  s.n += sign;
  s.sum += sign * value;
  s.sumSq += sign * value * value;
}
