// The isolate side of the feedback and control paths. Per route it keeps the last
// state the coordinator returned, and the evidence gathered since the last sync. At
// most one sync per route per interval is made, in ctx.waitUntil, so the request path
// never waits on the coordinator while its state is trusted. A state is trusted for
// intervalMs + coldWaitMs from the start of the sync that brought it (the rollback
// bound: one interval plus a round trip, coldWaitMs being the round trip we budget).
// Past that - a cold isolate, or one that was idle - a request waits at most coldWaitMs
// for a fresh sync and serves stable if none lands. While syncs are being tried and
// fail, the last state keeps serving until they have failed for staleAfterMs (the
// fail-safe: stable only, logged once). An idle spell is never a failure. Coordinator
// load is isolates / interval, not requests.
import type { IsolateSyncStatus } from "../core/admin-protocol.js";
import type { RouteConfig, SyncConfig } from "../core/config/schema.js";
import { emptyEvidence, emptyMetrics, identityHash, isEmptyEvidence, MAX_METRIC_USERS, recordOutcome, type Evidence, type MetricUsers } from "../core/evidence.js";
import type { MetricEvent, MetricSink } from "../core/metrics/metric-event.js";
import { NOT_EVIDENCE, type Outcome, type OutcomeSink } from "../core/outcome.js";
import { confirmedRings, confirmedWeight, effectiveShadow } from "../core/rollout/effective-weight.js";
import type { Ring } from "../core/rollout/plan.js";
import type { RolloutState } from "../core/rollout/state.js";
import { routeHash } from "../core/route-hash.js";
import type { SyncRequest, SyncResponse } from "../core/sync-protocol.js";
import { countsAsError } from "../core/error-outcome.js";
import { emptyShadow, recordShadowOutcome } from "../core/shadow/shadow-evidence.js";
import { SAMPLES_PER_SYNC, type MismatchSample, type ShadowOutcome, type ShadowSink } from "../core/shadow/shadow-outcome.js";
import { isErrorOutcome } from "../core/stats/guardrails.js";

interface RouteSync {
  state: RolloutState | undefined;
  /** Isolate time of the last successful sync; -Infinity before the first. */
  syncedAt: number;
  /** Until when the state may serve the canary (see trustMs); -Infinity while cold. */
  trustedUntil: number;
  /** Start of the first failed attempt since the last success; undefined while none failed. */
  failingSince: number | undefined;
  lastAttemptAt: number;
  inflightSince: number | undefined;
  seq: number;
  pending: Evidence;
  pendingRelease: string;
  /** The newest shadow mismatches since the last delta was cut, at most SAMPLES_PER_SYNC, newest first (as the coordinator keeps them). */
  pendingMismatches: MismatchSample[] | undefined;
  /** The route config the last request served: its guardrails judge outcomes, its shadow settings the signs. */
  route: RouteConfig;
  unacked: { seq: number; delta: Evidence; release: string; servedEpoch: number | undefined; mismatches: MismatchSample[] | undefined } | undefined;
  /** Epoch of the state when `pending` began (it is served under that state until the next reply). */
  pendingEpoch: number | undefined;
  failSafe: boolean;
  lastError: string | undefined;
  syncs: number;
  /** Hash of the route config this isolate serves (routeHash), compared with state.configHash. */
  configHash: string;
  /** What the last request's weight() call gave, with `route`: what a trailing sync calls with. */
  sync: SyncConfig | undefined;
  call: CoordinatorCall | undefined;
  /** A trailing sync is waiting (at most one per route). */
  trailing: boolean;
}

export type CoordinatorCall = (routeId: string, req: SyncRequest) => Promise<SyncResponse>;

export class CoordinatorClient implements OutcomeSink, ShadowSink, MetricSink {
  private readonly routes = new Map<string, RouteSync>();
  private id: string | undefined;

  /** `mintId` runs on first use: Workers forbid random values at global scope. */
  constructor(
    private readonly mintId: () => string,
    private readonly now: () => number,
    /** When the isolate read its config document (ConfigView.loadedAt), offered with an unconfirmed config. */
    private readonly configLoadedAt: () => number | undefined = () => undefined,
    /** Waits ms (setTimeout); the Worker tests pass one that returns at once, as their clock is driven, not slept. */
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {}

  private get isolateId(): string {
    this.id ??= this.mintId();
    return this.id;
  }

  /** The canary weight to serve for a route; a promise only while its state is not trusted. */
  weight(route: RouteConfig, sync: SyncConfig, call: CoordinatorCall, waitUntil: (p: Promise<unknown>) => void): number | Promise<number> {
    const entry = this.entry(route);
    entry.route = route;
    entry.configHash = hashOf(route);
    entry.sync = sync;
    entry.call = call;
    const now = this.now();
    const inflight = entry.inflightSince !== undefined && now - entry.inflightSince < syncTimeout(sync);
    // One attempt per interval, cold or warm, so a coordinator that fails fast is never
    // called once per request.
    const attempt = !inflight && now - entry.lastAttemptAt >= sync.intervalMs ? this.sync(route, sync, call) : undefined;
    if (attempt) waitUntil(attempt);
    if (now <= entry.trustedUntil) return confirmedWeight(route, entry.configHash, entry.state);
    // Cold, idle past the bound, or failing past staleAfterMs: wait a bounded time for a
    // sync in flight to land, otherwise serve stable.
    if (!attempt && entry.inflightSince === undefined) return 0;
    return this.waitForSync(entry, attempt, now + sync.coldWaitMs).then(() => this.served(route, entry));
  }

  /**
   * Percent of users whose requests are mirrored: the current stage's while it is a
   * shadow stage and the state is trusted, else 0. Ask after weight() (which syncs).
   * A route without `steps.stages` has no shadow stage: one property read.
   */
  shadow(route: RouteConfig): number {
    if (route.steps?.stages === undefined) return 0;
    const entry = this.routes.get(route.id);
    if (!entry || this.now() > entry.trustedUntil) return 0;
    return effectiveShadow(route, entry.state);
  }

  /**
   * The rings served beside everyone's share (effective-weight.ts confirmedRings): those
   * of a trusted state's plan so far, none otherwise. Ask after weight() (which syncs). A
   * route without `steps.stages` has no ring stage: one property read.
   */
  rings(route: RouteConfig): readonly Ring[] {
    if (route.steps?.stages === undefined) return NO_RINGS;
    const entry = this.routes.get(route.id);
    if (!entry || this.now() > entry.trustedUntil) return NO_RINGS;
    return confirmedRings(route, entry.configHash, entry.state);
  }

  /** One mirror's outcome into the pending delta's shadow arm, and a mismatch into the samples. */
  recordShadow(o: ShadowOutcome): void | Promise<void> {
    const entry = this.routes.get(o.routeId);
    if (!entry) return;
    startPending(entry, o.release);
    const g = entry.route.guardrails;
    // The same verdicts as the live arms (error-outcome.ts): no answer is a failure, by errorOnFailure.
    const stableFailed = isErrorOutcome(g, o.stableStatus === 0 ? "network" : o.stableStatus);
    const canaryFailed = isErrorOutcome(g, o.kind === "canary_timeout" ? "timeout" : o.canaryStatus === 0 ? "network" : o.canaryStatus);
    const identity = o.identity;
    recordShadowOutcome((entry.pending.shadow ??= emptyShadow()), o, stableFailed, canaryFailed, () => (identity === undefined ? undefined : identityHash(identity)), entry.route.shadow.latencyTolerance);
    if (o.kind === "mismatch" && o.part !== undefined) {
      const samples = (entry.pendingMismatches ??= []);
      samples.unshift({ at: this.now(), release: o.release, method: o.method, path: o.path, part: o.part, detail: o.detail ?? "", stableStatus: o.stableStatus, canaryStatus: o.canaryStatus });
      if (samples.length > SAMPLES_PER_SYNC) samples.pop();
    }
    return this.trailingSync(entry);
  }

  record(outcome: Outcome): void | Promise<void> {
    const entry = this.routes.get(outcome.routeId);
    // Client-caused outcomes (an abandoned or stalled upload) and refused loops say nothing about the origin.
    if (!entry || outcome.forced || NOT_EVIDENCE.has(outcome.errorKind)) return;
    startPending(entry, outcome.release);
    const isError = countsAsError(outcome, entry.route.guardrails);
    // A ring's users are counted (distinct identities per ring), so its requests carry the
    // identity hash whether or not they failed; elsewhere only a failure needs it.
    const hashed = outcome.identity !== undefined && (isError || outcome.ring !== undefined);
    const id = hashed ? identityHash(outcome.identity!) : undefined;
    recordOutcome(entry.pending, outcome.variant, isError, outcome.originMs, id, outcome.ring);
    // A route with metrics counts every user with a request as exposed (the denominators
    // of conversion and rate-per-user); a route without pays one length check.
    if (entry.route.metrics.length > 0 && outcome.identity !== undefined) {
      const metrics = (entry.pending.metrics ??= emptyMetrics());
      if (userOf(metrics[outcome.variant], id ?? identityHash(outcome.identity)) === undefined) metrics.overflow = (metrics.overflow ?? 0) + 1;
    }
    return this.trailingSync(entry);
  }

  /**
   * One metric event into the pending delta: [count, sum] of the user and metric. Events of
   * another release than the route's current one, or of a name the route does not define,
   * are dropped; a user past MAX_METRIC_USERS of the arm in this delta is counted in overflow.
   */
  recordMetric(event: MetricEvent): void | Promise<void> {
    const entry = this.routes.get(event.routeId);
    if (!entry || event.release !== entry.route.release || !Number.isFinite(event.value)) return;
    if (!entry.route.metrics.some((m) => m.name === event.name)) return;
    startPending(entry, event.release);
    const metrics = (entry.pending.metrics ??= emptyMetrics());
    const user = userOf(metrics[event.variant], identityHash(event.identity));
    if (user === undefined) metrics.overflow = (metrics.overflow ?? 0) + 1;
    else {
      const had = Object.hasOwn(user, event.name) ? user[event.name] : undefined;
      user[event.name] = had ? [had[0] + 1, had[1] + event.value] : [1, event.value];
    }
    return this.trailingSync(entry);
  }

  /**
   * Syncs are started by requests, but outcomes are recorded after their response (and a
   * mirror's later still), so the last outcomes of a burst would wait for the next request,
   * however long that is. One trailing sync per route delivers them at the next interval
   * boundary: the caller keeps the request alive for it (ctx.waitUntil), one sync per
   * interval still holds, and while traffic flows a request's own sync comes first and the
   * trailing one waits for the next boundary, a few at most.
   */
  private trailingSync(entry: RouteSync): Promise<void> | undefined {
    const { route, sync, call } = entry;
    if (entry.trailing || sync === undefined || call === undefined) return undefined;
    // A long interval would hold the request past what waitUntil grants: the next request syncs.
    if (sync.intervalMs > TRAILING_MAX_INTERVAL_MS) return undefined;
    entry.trailing = true;
    return (async () => {
      try {
        for (let i = 0; i < TRAILING_TRIES; i++) {
          const due = entry.inflightSince !== undefined ? POLL_MS : entry.lastAttemptAt + sync.intervalMs - this.now();
          if (due > 0) {
            await this.wait(due);
            continue;
          }
          if (entry.unacked || !isEmptyEvidence(entry.pending)) await this.sync(route, sync, call);
          return;
        }
      } finally {
        entry.trailing = false;
      }
    })();
  }

  status(routeId: string): IsolateSyncStatus | undefined {
    const e = this.routes.get(routeId);
    if (!e) return undefined;
    return {
      epoch: e.state?.epoch,
      syncedAgoMs: Number.isFinite(e.syncedAt) ? this.now() - e.syncedAt : null,
      failSafe: e.failSafe,
      lastError: e.lastError,
      syncs: e.syncs,
      configDiverged: e.state && e.state.configHash !== e.configHash ? `config diverged: edge ${e.configHash}, coordinator ${e.state.configHash}` : undefined,
    };
  }

  private served(route: RouteConfig, entry: RouteSync): number {
    return this.now() <= entry.trustedUntil ? confirmedWeight(route, entry.configHash, entry.state) : 0;
  }

  /**
   * Waits until the state is trusted again, the sync in flight settles or the deadline
   * passes. This request's own attempt is raced directly; one started by another request
   * is polled, since a promise must not be shared across requests.
   */
  private async waitForSync(entry: RouteSync, attempt: Promise<void> | undefined, deadline: number): Promise<void> {
    if (attempt) {
      await Promise.race([attempt, sleep(Math.max(0, deadline - this.now()))]);
      return;
    }
    while (entry.inflightSince !== undefined && this.now() > entry.trustedUntil && this.now() < deadline) {
      await sleep(Math.min(POLL_MS, deadline - this.now()));
    }
  }

  private entry(route: RouteConfig): RouteSync {
    let e = this.routes.get(route.id);
    if (!e) {
      e = {
        state: undefined,
        syncedAt: Number.NEGATIVE_INFINITY,
        trustedUntil: Number.NEGATIVE_INFINITY,
        failingSince: undefined,
        lastAttemptAt: Number.NEGATIVE_INFINITY,
        inflightSince: undefined,
        seq: 0,
        pending: emptyEvidence(),
        pendingRelease: route.release,
        pendingMismatches: undefined,
        route,
        unacked: undefined,
        pendingEpoch: undefined,
        failSafe: false,
        lastError: undefined,
        syncs: 0,
        configHash: hashOf(route),
        sync: undefined,
        call: undefined,
        trailing: false,
      };
      this.routes.set(route.id, e);
    }
    return e;
  }

  private async sync(route: RouteConfig, sync: SyncConfig, call: CoordinatorCall): Promise<void> {
    const entry = this.entry(route);
    const started = this.now();
    entry.inflightSince = started;
    entry.lastAttemptAt = started;
    // Only an attempt made while the state was still trusted may extend its trust on
    // failure: after an idle spell a failed sync proves nothing about the old state.
    const trustedAtStart = started <= entry.trustedUntil;
    // A delta that was sent but not acknowledged is resent as is, under its seq, so the
    // coordinator counts it once whether or not the first attempt landed.
    if (!entry.unacked && !isEmptyEvidence(entry.pending)) {
      entry.seq += 1;
      entry.unacked = { seq: entry.seq, delta: entry.pending, release: entry.pendingRelease, servedEpoch: entry.pendingEpoch, mismatches: entry.pendingMismatches };
      entry.pending = emptyEvidence();
      entry.pendingMismatches = undefined;
      entry.pendingEpoch = entry.state?.epoch;
    }
    const out = entry.unacked ?? { seq: entry.seq, delta: emptyEvidence(), release: route.release, servedEpoch: entry.state?.epoch, mismatches: undefined };
    const configHash = hashOf(route);
    const loadedAt = this.configLoadedAt();
    // Until the coordinator confirms our config, offer it (sync-protocol.ts).
    const offer = entry.state?.configHash !== configHash && loadedAt !== undefined ? { route, loadedAt } : undefined;
    try {
      const res = await withTimeout(
        call(route.id, { routeId: route.id, isolateId: this.isolateId, seq: out.seq, configHash, release: out.release, delta: out.delta, servedEpoch: out.servedEpoch, offer, ...(out.mismatches ? { mismatches: out.mismatches } : {}) }),
        syncTimeout(sync),
      );
      entry.unacked = undefined;
      entry.state = res.state;
      entry.syncedAt = this.now();
      // The state is as of some moment after `started`: the bound counts from there.
      entry.trustedUntil = Math.max(entry.trustedUntil, started + trustMs(sync));
      entry.failingSince = undefined;
      entry.syncs += 1;
      if (entry.failSafe) {
        entry.failSafe = false;
        console.log(JSON.stringify({ level: "info", msg: "coordinator reachable again", route: route.id }));
      }
      entry.lastError = undefined;
    } catch (e) {
      const message = (e as Error).message;
      if (entry.lastError !== message) {
        console.error(JSON.stringify({ level: "warn", msg: "coordinator sync failed; serving cached state", route: route.id, error: message }));
      }
      entry.lastError = message;
      entry.failingSince ??= started;
      if (trustedAtStart) {
        entry.trustedUntil = Math.max(entry.trustedUntil, Math.min(started + trustMs(sync), entry.failingSince + sync.staleAfterMs));
      }
      const failingFor = this.now() - entry.failingSince;
      if (failingFor >= sync.staleAfterMs && !entry.failSafe) {
        entry.failSafe = true;
        console.error(
          JSON.stringify({ level: "error", msg: "coordinator unreachable past staleAfterMs: serving stable only", route: route.id, staleAfterMs: sync.staleAfterMs, failingForMs: failingFor, lastError: message }),
        );
      }
    } finally {
      entry.inflightSince = undefined;
    }
  }
}

/** Outcomes of another release than the pending delta's start a new delta (the old one's say nothing now). */
function startPending(entry: RouteSync, release: string): void {
  if (entry.pendingRelease === release) return;
  entry.pending = emptyEvidence();
  entry.pendingRelease = release;
  entry.pendingMismatches = undefined;
}

/** The user's events in this delta's arm, added as exposed ({}) if new; undefined past MAX_METRIC_USERS. */
function userOf(arm: MetricUsers, hash: number): Record<string, readonly [number, number]> | undefined {
  const key = String(hash);
  if (Object.hasOwn(arm, key)) return arm[key];
  // Counting keys per new user would be O(users): the arm's size is kept beside it.
  const size = armSizes.get(arm) ?? 0;
  if (size >= MAX_METRIC_USERS) return undefined;
  armSizes.set(arm, size + 1);
  return (arm[key] = {});
}

/** Users per pending metric arm (a WeakMap: the arm travels in the delta as plain JSON). */
const armSizes = new WeakMap<MetricUsers, number>();

/** How long a state may serve the canary after the start of the sync that brought it. */
export const trustMs = (sync: SyncConfig): number => sync.intervalMs + sync.coldWaitMs;

const NO_RINGS: readonly Ring[] = [];
const POLL_MS = 5;
/** Turns a trailing sync waits for before it gives up (the next request syncs then). */
const TRAILING_TRIES = 4;
/** Longest interval a trailing sync waits out (a request's waitUntil lasts 30 s at most). */
const TRAILING_MAX_INTERVAL_MS = 5000;

/** routeHash per parsed route object: the request path asks for it on every request. */
const hashes = new WeakMap<RouteConfig, string>();
function hashOf(route: RouteConfig): string {
  let h = hashes.get(route);
  if (h === undefined) hashes.set(route, (h = routeHash(route)));
  return h;
}

const syncTimeout = (sync: SyncConfig): number => Math.max(2000, sync.intervalMs * 2);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sync timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
