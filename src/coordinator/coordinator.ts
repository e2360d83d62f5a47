// The coordinator: one Durable Object per route (idFromName(route id)). It holds what
// is true now (phase, step, epoch), merges the evidence isolates deliver on sync, runs
// the decision engine on every sync (throttled) and on a 1 s alarm tick, applies the
// result through the pure state machine, and writes every change with its reason and
// statistics to the audit log. It reads the KV config itself, so its view of what the
// operator wants does not depend on which isolate called last.
import { DurableObject } from "cloudflare:workers";
import { EVENTS_LIMIT, type AuditEntry, type CoordinatorStatus, type OperatorCommand, type PlanStageStatus, type RingStatus, type ShadowReport } from "../core/admin-protocol.js";
import { NotifySchema, StepsSchema, type NotifyConfig, type RouteConfig } from "../core/config/schema.js";
import type { Evidence } from "../core/evidence.js";
import { effectiveRings, effectiveShadow, effectiveWeight } from "../core/rollout/effective-weight.js";
import { audienceLabel, exposureAt, planOf, stageAt, stageLabel, type Stage } from "../core/rollout/plan.js";
import type { RolloutEvent } from "../core/rollout/events.js";
import type { RolloutState } from "../core/rollout/state.js";
import { transition, type TransitionError } from "../core/rollout/transition.js";
import { ok, type Result } from "../core/result.js";
import { routeHash } from "../core/route-hash.js";
import type { Explanation } from "../core/stats/decision-engine.js";
import { decideRollout, METRIC_ALPHA_SHARE, rolloutAlphas, type RolloutExplanation, type RolloutInput } from "../core/stats/rollout-engine.js";
import { memoFrontier, updateRollout, type RolloutMemo } from "../core/stats/rollout-evidence.js";
import { checkDelta, type SyncRequest, type SyncResponse } from "../core/sync-protocol.js";
import { ConfigCache } from "../config/config-cache.js";
import { coordinatorClock } from "./clock.js";
import { addRingWindows, copyRingTotals, ringStatuses, series, shadowReport, summarize, type RingTotals } from "./evidence-summary.js";
import { addSamples, type StoredSamples } from "./shadow-samples.js";
import { migrate } from "./schema.js";
import { CoordinatorStore, WINDOW_MS, type EvidenceWindow } from "./store.js";
import { Notifier } from "./notifier.js";
import { acceptOffer, type HeldRoute } from "./config-offer.js";
import { MetricUserTable } from "./metric-users.js";
import { testMetric } from "../core/stats/metric-test.js";
import type { MetricInput, MetricVerdict } from "../core/metrics/metric-stats.js";

/** Alarm tick while a rollout is active. */
export const TICK_MS = 1000;
/** How far back before a rollout's first window the stable history (latency thresholds) looks. */
const BASELINE_WINDOW_MS = 15 * 60_000;
/** Minimum time between engine runs triggered by syncs. */
const EVAL_THROTTLE_MS = 250;
/** Re-read KV at least this often even when isolates agree with us. */
const CONFIG_MAX_AGE_MS = 10_000;
/** ...and at most this often when an isolate reports a config we have not seen. */
const CONFIG_MIN_AGE_MS = 200;
/** How long an isolate's different config hash shows in status after its last sync. */
const DIVERGENCE_SHOWN_MS = 30_000;
/**
 * A manual rollout has no steps and never advances; the engine still judges it (and
 * may roll it back) with a default step's minimum duration and no request minimum.
 */
const MANUAL_STEP = { minDurationSec: StepsSchema.shape.minDurationSec.parse(undefined), minRequests: 0 };
/** Meta key of the current release's mismatch samples (shadow-samples.ts). */
const SAMPLES_KEY = "shadowSamples";

/**
 * An engine advance's audit reason, naming the stages by label: "advance: from shadow 10%
 * to 5%; <the engine's reason>" (or "to promoted" after the last stage).
 */
export function advanceReason(plan: readonly Stage[], stepIndex: number, reason: string): string {
  const from = plan[stepIndex];
  if (!from) return reason;
  const next = plan[stepIndex + 1];
  const rest = reason.replace(/^advance:? ?/, "");
  return `advance: from ${stageLabel(from)} to ${next ? stageLabel(next) : "promoted (100%)"}; ${rest}`;
}

/** Which rollout the per-user metric table holds: it restarts with the rollout's evidence (a new release, a resume, set_step). */
const metricKey = (state: RolloutState): string => `${state.release}|${state.rolloutEvidenceSince ?? 0}`;

export class Coordinator extends DurableObject<Env> {
  private readonly store: CoordinatorStore;
  private readonly notifier: Notifier;
  /** The rollout's per-user metric events and their per-arm moments (metric-users.ts). */
  private readonly metricUsers: MetricUserTable;
  /** Until a config is read: the schema's defaults. */
  private notify: NotifyConfig = NotifySchema.parse(undefined);
  private readonly configCache = new ConfigCache();
  private route: HeldRoute | undefined;
  /** Config hashes isolates synced with that are not ours, and when last seen (status shows them). */
  private readonly divergent = new Map<string, number>();
  private lastEvalAt = 0;
  /** The rollout's windows of earlier steps (immutable once their step is over) and the stable history before it. */
  private rollout: { key: string; past: EvidenceWindow[]; history: EvidenceWindow[] } | undefined;
  /** The engine's memo of the rollout's closed windows (rebuilt from storage after a restart). */
  private memo: RolloutMemo | undefined;
  /** When KV was last read for this route (whether or not the route was in it). */
  private configReadAt = Number.NEGATIVE_INFINITY;
  private lastDecision: CoordinatorStatus["lastDecision"];
  /** Status's per-ring totals of the rollout's closed windows (windows from `through` on are read on each call). */
  private ringTotals: { key: string; through: number; closed: RingTotals } | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage);
    this.store = new CoordinatorStore(ctx.storage.sql);
    this.notifier = new Notifier(ctx.storage.sql);
    this.metricUsers = new MetricUserTable(ctx.storage.sql, { get: (k) => this.store.getMeta(k), set: (k, v) => this.store.setMeta(k, v) });
  }

  /** The clock every decision reads (coordinator/clock.ts). */
  protected now(): number {
    return coordinatorClock.now();
  }

  /** The one isolate call: deliver a delta, get the state back. */
  async sync(req: SyncRequest): Promise<SyncResponse> {
    const now = this.now();
    await this.loadRoute(req.routeId, now, req);
    this.noteIsolateHash(req.configHash, now);
    let state = this.store.loadState();
    let duplicate = false;
    // A malformed delta (too many rings, a huge key, a broken arm) is acknowledged and dropped, never merged.
    const refused = checkDelta(req.delta);
    if (refused !== undefined) {
      console.log(JSON.stringify({ level: "warn", msg: "malformed delta refused", route: req.routeId, isolate: String(req.isolateId).slice(0, 64), reason: refused }));
      return { state, duplicate: false, now, refused };
    }
    if (state && req.release === state.release) {
      const stale = req.servedEpoch !== undefined && req.servedEpoch < (state.evidenceEpoch ?? 0);
      // Per-user metric events go to their own table, not into the windows (which they would
      // grow by thousands of users each); in the same synchronous run, so they commit with the seq.
      const { metrics, ...delta } = req.delta;
      duplicate = !this.store.applyDelta(req.isolateId, req.seq, state.release, state.stepIndex, now, delta, { since: state.evidenceSince ?? 0, stale });
      // Served under an older state (before a restart of the evidence, or a step ago): not counted.
      const route = this.route?.config;
      if (!duplicate && !stale && metrics && route && route.release === state.release && route.metrics.length > 0) this.metricUsers.apply(metricKey(state), route.metrics, metrics);
      if (!duplicate && req.mismatches && req.mismatches.length > 0) this.keepSamples(state.release, req.mismatches);
    }
    if (now - this.lastEvalAt >= EVAL_THROTTLE_MS) state = this.evaluate(now);
    return { state, duplicate, now };
  }

  /** Operator action from the admin API. */
  async command(routeId: string, cmd: OperatorCommand): Promise<Result<{ state: RolloutState; effectiveWeight: number }, TransitionError>> {
    const now = this.now();
    await this.loadRoute(routeId, now);
    const event: RolloutEvent =
      cmd.type === "set_step"
        ? { type: "set_step", stepIndex: cmd.stepIndex, reason: cmd.reason }
        : cmd.type === "rollback"
          ? { type: "rollback", actor: "operator", reason: cmd.reason }
          : { type: cmd.type, reason: cmd.reason };
    const result = this.apply(event, now);
    if (!result.ok) return result;
    // What is served after the command, from the config the coordinator holds.
    return ok({ state: result.value, effectiveWeight: this.route ? effectiveWeight(this.route.config, result.value) : 0 });
  }

  async status(routeId: string): Promise<CoordinatorStatus> {
    const now = this.now();
    await this.loadRoute(routeId, now);
    const state = this.store.loadState();
    const route = this.route?.config;
    const step =
      state && route
        ? {
            index: state.stepIndex,
            weight: effectiveWeight(route, state),
            ...this.stageOf(route, state),
            startedAt: state.stepStartedAt,
            evidence: summarize(this.stepEvidence(state)),
          }
        : undefined;
    const active = state !== undefined && route !== undefined && state.release === route.release && (state.phase === "progressing" || state.phase === "paused");
    const plan: PlanStageStatus[] | undefined = route
      ? planOf(route).map((st, i, all) => ({
          label: stageLabel(st),
          kind: st.kind,
          ...(st.kind === "live" && st.audience ? { audience: audienceLabel(st.audience) } : {}),
          current: active && i === Math.min(Math.max(0, state.stepIndex), all.length - 1),
        }))
      : undefined;
    const rings = active ? effectiveRings(route, state) : [];
    const ringStatus: RingStatus[] | undefined =
      active && rings.length > 0
        ? ringStatuses({
            rings,
            everyone: effectiveWeight(route, state),
            current: this.stageOf(route, state).audience,
            totals: this.rolloutRingTotals(state, now),
          })
        : undefined;
    return {
      routeId: this.store.getMeta<string>("routeId"),
      state,
      effectiveWeight: route ? effectiveWeight(route, state) : 0,
      configHash: this.route?.hash,
      configError: this.configCache.view().error?.messages,
      configDiverged: this.divergence(now),
      removedAt: this.removedAt(),
      step,
      ...(plan ? { plan } : {}),
      ...(ringStatus ? { rings: ringStatus } : {}),
      ...(state && route && route.metrics.length > 0 && state.release === route.release ? this.metricStatus(route, state) : {}),
      lastDecision: this.lastDecision,
      isolates: this.store.activeIsolates(now, 60_000),
      series: state ? series(this.store.windows(state.release, now - 60 * 60_000)) : [],
      now,
    };
  }

  async events(limit: number = EVENTS_LIMIT.default, before?: number): Promise<AuditEntry[]> {
    return this.store.audit(Math.min(Math.max(EVENTS_LIMIT.min, limit), EVENTS_LIMIT.max), before);
  }

  /** GET /routes/:id/shadow: the shadow comparison of the current release (admin-protocol.ts ShadowReport). */
  async shadow(routeId: string): Promise<ShadowReport> {
    const now = this.now();
    await this.loadRoute(routeId, now);
    const state = this.store.loadState();
    const route = this.route?.config;
    const plan = route ? planOf(route) : [];
    const stage = state && route ? stageAt(plan, state.stepIndex) : undefined;
    const active = state !== undefined && route !== undefined && state.release === route.release && (state.phase === "progressing" || state.phase === "paused");
    // Steps of the release that are shadow stages: by the config in force (a same-release edit cannot reorder them).
    const windows = state ? this.store.windows(state.release, 0).filter((w) => plan[w.step]?.kind === "shadow") : [];
    return shadowReport({
      route: routeId,
      release: state?.release ?? null,
      stage: active && stage?.kind === "shadow" ? stageLabel(stage) : null,
      windows,
      samples: state ? this.samples(state.release) : [],
    });
  }

  override async alarm(): Promise<void> {
    const now = this.now();
    const routeId = this.store.getMeta<string>("routeId");
    if (routeId) await this.loadRoute(routeId, now);
    this.evaluate(now);
    this.store.prune(now, this.current());
    await this.notifier.flush(() => this.now(), this.notify.maxAttempts);
    await this.schedule(this.now());
  }

  private current(): { release: string; step: number } | undefined {
    const s = this.store.loadState();
    return s ? { release: s.release, step: s.stepIndex } : undefined;
  }

  /** Reads the route's config from KV when due and applies it as a config event. */
  private async loadRoute(routeId: string, now: number, req?: SyncRequest): Promise<void> {
    if (this.store.getMeta<string>("routeId") !== routeId) this.store.setMeta("routeId", routeId);
    const age = now - this.configReadAt;
    const isolateHash = req?.configHash;
    // A removed route's coordinator re-reads on any call for it: someone asks because it is back.
    const asked = this.removedAt() !== undefined || (isolateHash !== undefined && isolateHash !== this.route?.hash);
    const due = age >= CONFIG_MAX_AGE_MS || (asked && age >= CONFIG_MIN_AGE_MS);
    if (!due) return;
    this.configReadAt = now;
    const view = await this.configCache.refreshNow(this.env.CANARY_CONFIG, now);
    if (view.config) this.notify = view.config.notify;
    const config = view.config?.routes.find((r) => r.id === routeId);
    let next: HeldRoute | undefined = config ? { config, hash: routeHash(config), loadedAt: view.loadedAt ?? now } : undefined;
    if (view.error) {
      // KV's latest document is rejected: a config adopted from an isolate that is later
      // than KV's last good one stays, and a later one offered now is taken (config-offer.ts).
      if (this.route?.note && this.route.loadedAt > (next?.loadedAt ?? Number.NEGATIVE_INFINITY)) next = this.route;
      next = acceptOffer(req, routeId, next, view.error.hash, this.store.loadState()?.configHash) ?? next;
    }
    if (!next) {
      if (view.config) this.markRemoved(routeId, now, view.hash);
      return;
    }
    if (this.removedAt() !== undefined) this.markRestored(routeId, now, next.hash);
    this.route = next;
    this.apply({ type: "config", route: next.config, configHash: next.hash, note: next.note }, now);
  }

  /** When the route was found gone from the config; undefined while it is in it. */
  private removedAt(): number | undefined {
    return this.store.getMeta<number>("removedAt");
  }

  /**
   * The route is no longer in the config: the engine stops judging it and the 1 s tick
   * stops (schedule), so an orphan costs no alarms and no KV reads; only the webhook
   * outbox still retries until it is empty. Said once, in the audit log and the log.
   */
  private markRemoved(routeId: string, now: number, documentHash: string | undefined): void {
    this.route = undefined;
    if (this.removedAt() !== undefined) return;
    this.store.setMeta("removedAt", now);
    const reason = `route ${routeId} is not in the config (document ${documentHash ?? "?"}): the coordinator stops its alarm; it wakes when the route is back`;
    this.auditLifecycle("route_removed", now, reason);
    console.log(JSON.stringify({ level: "info", msg: "route removed from the config: coordinator stopped", route: routeId }));
  }

  private markRestored(routeId: string, now: number, hash: string): void {
    this.store.deleteMeta("removedAt");
    this.auditLifecycle("route_restored", now, `route ${routeId} is back in the config (route config ${hash})`);
    this.ctx.waitUntil(this.schedule(now));
  }

  /** An audit row for a change of the route itself, not of its rollout (the state is unchanged). */
  private auditLifecycle(event: string, now: number, reason: string): void {
    const s = this.store.loadState();
    this.store.appendAudit({
      at: now,
      actor: "config",
      event,
      release: s?.release ?? "",
      fromPhase: s?.phase ?? null,
      toPhase: s?.phase ?? "idle",
      epoch: s?.epoch ?? 0,
      step: (s?.stepIndex ?? 0) + 1,
      weight: 0,
      reason,
      configHash: s?.configHash ?? "",
    });
  }

  private noteIsolateHash(hash: string, now: number): void {
    for (const [h, at] of this.divergent) if (h === this.route?.hash || now - at > DIVERGENCE_SHOWN_MS) this.divergent.delete(h);
    if (hash !== this.route?.hash && this.divergent.size < 16) this.divergent.set(hash, now);
  }

  /** "config diverged: edge <h1>, coordinator <h2>" while isolates synced with another config lately. */
  private divergence(now: number): string | undefined {
    const edge = [...this.divergent].filter(([h, at]) => h !== this.route?.hash && now - at <= DIVERGENCE_SHOWN_MS).map(([h]) => h);
    return edge.length > 0 ? `config diverged: edge ${edge.join(", ")}, coordinator ${this.route?.hash ?? "(none)"}` : undefined;
  }

  /** Applies an event; persists, audits and (re)arms the alarm when it changed something. */
  private apply(event: RolloutEvent, now: number, explanation?: Explanation | RolloutExplanation): Result<RolloutState, TransitionError> {
    const before = this.store.loadState();
    const result = transition(before, event, now);
    if (!result.ok) return result;
    const { state, changed, from } = result.value;
    if (!changed) return ok(state);
    this.store.saveState(state);
    // A new release starts a new comparison: the last release's mismatch samples go.
    if (before !== undefined && before.release !== state.release) this.store.deleteMeta(SAMPLES_KEY);
    const record = {
      at: now,
      actor: state.lastChange.actor,
      event: event.type,
      release: state.release,
      fromPhase: from ?? null,
      toPhase: state.phase,
      epoch: state.epoch,
      step: state.stepIndex + 1,
      weight: this.route ? effectiveWeight(this.route.config, state) : 0,
      ...this.stageLabelOf(state),
      reason: state.lastChange.reason,
    };
    this.store.appendAudit({ ...record, explanation, configHash: state.configHash });
    if (this.notify.webhook) {
      this.notifier.enqueue(this.notify.webhook, { route: state.routeId, ...record }, now);
      this.ctx.waitUntil(this.notifier.flush(() => this.now(), this.notify.maxAttempts).then(() => this.schedule(this.now())));
    }
    console.log(JSON.stringify({ level: "info", msg: "rollout changed", route: state.routeId, release: state.release, from, to: state.phase, epoch: state.epoch, reason: state.lastChange.reason }));
    this.ctx.waitUntil(this.schedule(now));
    return ok(state);
  }

  /**
   * Status's metrics: each metric's test run on the table's moments now, as the engine runs
   * it (the same alpha; acting only where the engine would), rather than the engine's last
   * verdict, which can lag the latest sync by an evaluation. And the table's size.
   */
  private metricStatus(route: RouteConfig, state: RolloutState): Pick<CoordinatorStatus, "metrics" | "metricUsers"> {
    const key = metricKey(state);
    const g = route.guardrails;
    const guardrailMetrics = route.metrics.filter((m) => m.mode === "guardrail").length;
    const alpha = rolloutAlphas(g, { medianOn: false, rings: 0, guardrailMetrics }).metricEach || g.alpha * METRIC_ALPHA_SHARE;
    const judged = (state.phase === "progressing" || state.phase === "paused") && stageAt(planOf(route), state.stepIndex)?.kind !== "shadow" && effectiveWeight(route, state) < 100;
    const metrics: MetricVerdict[] = this.metricUsers.inputs(key, route.metrics).map((input) => testMetric(input, alpha, judged));
    return { metrics, metricUsers: this.metricUsers.status(key, route.metrics) };
  }

  private stepEvidence(state: RolloutState): Evidence {
    return this.store.stepTotal(state.release, state.stepIndex, state.evidenceSince);
  }

  /** Runs the decision engine (v2: the whole rollout's evidence) and acts on its decision as guardrails.onFail says. */
  private evaluate(now: number): RolloutState | undefined {
    this.lastEvalAt = now;
    const state = this.store.loadState();
    const route = this.route?.config;
    if (!state || !route || state.release !== route.release) return state;
    if (state.phase !== "progressing" && state.phase !== "paused") return state;
    const weight = effectiveWeight(route, state);
    // A shadow stage serves no canary but mirrors: it is judged on the mirrored pairs; a ring stage serves its rings.
    if (weight <= 0 && effectiveShadow(route, state) <= 0 && effectiveRings(route, state).length === 0) return state;
    const g = route.guardrails;
    const plan = planOf(route);
    const stage = stageAt(plan, state.stepIndex);
    const shadowStage = stage?.kind === "shadow";
    // Every ring of the plan (the last stage's exposure holds them all): the ring tests' alpha is split across them.
    const ringKeys = exposureAt(plan, plan.length - 1).rings.map((r) => r.key);
    const { past, history } = this.rolloutWindows(state);
    // Only evidence since the last operator or config restart (a resume, a weight change)
    // judges the rollout; the engine's own advances keep it.
    const since = state.rolloutEvidenceSince ?? 0;
    const key = `${state.release}|${state.configHash}|${since}`;
    // A current memo needs only the windows from its frontier on; a new one (after a
    // restart, a resume or a config edit) is built from every stored window of the rollout.
    const frontier = memoFrontier(this.memo, key);
    const windows =
      frontier === undefined
        ? [...past, ...this.store.windows(state.release, state.evidenceSince ?? 0, state.stepIndex)]
        : this.store.stepWindows(state.release, state.stepIndex, state.evidenceSince).filter((w) => w.start >= frontier);
    const engine = updateRollout(this.memo, key, {
      windows: windows.filter((w) => w.start >= since),
      history,
      weights: state.weights,
      kinds: plan.map((s) => s.kind),
      maxMismatchRate: route.shadow.maxMismatchRate,
      ...(ringKeys.length > 0 ? { exposures: plan.map((_, i) => exposureAt(plan, i)) } : {}),
      guardrails: g,
      now,
      currentStep: state.stepIndex,
    });
    this.memo = engine.memo;
    // The engine's input with the route's metrics (the per-user table's moments); the
    // intersection names the field for an engine that does not read it yet.
    const input: RolloutInput & { metrics?: readonly MetricInput[] } = {
      now,
      stepStartedAt: state.stepStartedAt,
      stepIndex: state.stepIndex,
      weight,
      minDurationMs: (route.steps ?? MANUAL_STEP).minDurationSec * 1000,
      minRequests: (route.steps ?? MANUAL_STEP).minRequests,
      open: engine.open,
      latencySource: engine.latencySource,
      guardrails: g,
      state: engine.state,
      ...(stage ? { stage: stageLabel(stage) } : {}),
      ...(shadowStage ? { shadow: { maxMismatchRate: route.shadow.maxMismatchRate, latencyPairs: route.shadow.latencyPairs } } : {}),
      shadowPlan: plan.some((s) => s.kind === "shadow"),
      ...(ringKeys.length > 0 ? { rings: { keys: ringKeys, ...(stage?.kind === "live" && stage.audience ? { current: audienceLabel(stage.audience) } : {}) } } : {}),
      ...(route.metrics.length > 0 ? { metrics: this.metricUsers.inputs(metricKey(state), route.metrics) } : {}),
    };
    const decision = decideRollout(input);
    this.lastDecision = { action: decision.action, onFail: decision.onFail, reason: decision.reason, at: now, epoch: state.epoch, explanation: decision.explanation };
    if (decision.explanation.lowTraffic) this.adviseOnce(state, now, "low_traffic", `low traffic: ${decision.reason}`, decision.explanation);
    if (decision.action === "fail") {
      if (g.onFail === "notify") {
        this.adviseOnce(state, now, "advisory_rollback", `advisory (onFail notify), would roll back: ${decision.reason}`, decision.explanation);
        return state;
      }
      const event: RolloutEvent =
        g.onFail === "pause"
          ? { type: "pause", actor: "engine", reason: `onFail pause: ${decision.reason}`, expectedEpoch: state.epoch }
          : { type: "rollback", actor: "engine", reason: decision.reason, expectedEpoch: state.epoch };
      const r = this.apply(event, now, decision.explanation);
      return r.ok ? r.value : state;
    }
    if (decision.action === "advance" && state.phase === "progressing" && state.mode === "steps") {
      if (g.onFail === "notify") {
        this.adviseOnce(state, now, "advisory_advance", `advisory (onFail notify), would advance: ${decision.reason}`, decision.explanation);
        return state;
      }
      const r = this.apply({ type: "advance", reason: advanceReason(plan, state.stepIndex, decision.reason), expectedEpoch: state.epoch }, now, decision.explanation);
      return r.ok ? r.value : state;
    }
    return state;
  }

  /** An audit entry and webhook for something the engine says without acting on it, once per release, step and kind. */
  private adviseOnce(state: RolloutState, now: number, event: string, reason: string, explanation: RolloutExplanation): void {
    const key = `advised:${event}`;
    const mark = `${state.release}|${state.stepIndex}|${state.stepStartedAt}`;
    if (this.store.getMeta<string>(key) === mark) return;
    this.store.setMeta(key, mark);
    const record = {
      at: now,
      actor: "engine",
      event,
      release: state.release,
      fromPhase: state.phase,
      toPhase: state.phase,
      epoch: state.epoch,
      step: state.stepIndex + 1,
      weight: this.route ? effectiveWeight(this.route.config, state) : 0,
      ...this.stageLabelOf(state),
      reason,
    };
    this.store.appendAudit({ ...record, explanation, configHash: state.configHash });
    if (this.notify.webhook) {
      this.notifier.enqueue(this.notify.webhook, { route: state.routeId, ...record }, now);
      this.ctx.waitUntil(this.notifier.flush(Date.now, this.notify.maxAttempts).then(() => this.schedule(Date.now())));
    }
  }

  /** The audit record's stage label: where a steps rollout is, or where it was rolled back (it keeps its step). */
  private stageLabelOf(state: RolloutState): { stage?: string } {
    const stage = this.route && state.mode === "steps" ? this.stageOf(this.route.config, state).stage : undefined;
    return stage === undefined || state.phase === "promoted" || state.phase === "idle" ? {} : { stage };
  }

  /** Status fields naming the current stage: its label ("shadow 10%", "5%", "staff 100%"), kind, and a ring stage's audience. */
  private stageOf(route: RouteConfig, state: RolloutState): { stage?: string; kind?: Stage["kind"]; shadowPercent?: number; audience?: string } {
    if (state.release !== route.release) return {};
    const stage = stageAt(planOf(route), state.stepIndex);
    if (!stage) return {};
    return {
      stage: stageLabel(stage),
      kind: stage.kind,
      ...(stage.kind === "shadow" ? { shadowPercent: effectiveShadow(route, state) } : {}),
      ...(stage.kind === "live" && stage.audience ? { audience: audienceLabel(stage.audience) } : {}),
    };
  }

  /**
   * The rollout's per-ring totals for status: closed windows (a delta lands in the window of
   * the coordinator's now, so a window that ended is final) are summed once and kept; only
   * the windows since are read per call, so a status of a rollout of hours reads seconds of windows.
   */
  private rolloutRingTotals(state: RolloutState, now: number): RingTotals {
    const since = state.rolloutEvidenceSince ?? 0;
    const key = `${state.release}|${since}`;
    if (this.ringTotals?.key !== key) this.ringTotals = { key, through: since, closed: {} };
    const c = this.ringTotals;
    const fresh = this.store.windows(state.release, c.through);
    const closed = fresh.filter((w) => w.start + WINDOW_MS <= now);
    addRingWindows(c.closed, closed);
    if (closed.length > 0) c.through = Math.max(...closed.map((w) => w.start)) + 1;
    const totals = copyRingTotals(c.closed);
    addRingWindows(totals, fresh.filter((w) => w.start + WINDOW_MS > now));
    return totals;
  }

  /** Keeps the newest SAMPLES_KEPT mismatch samples of the release (shadow-samples.ts sanitises them). */
  private keepSamples(release: string, incoming: readonly unknown[]): void {
    const stored = this.store.getMeta<StoredSamples>(SAMPLES_KEY);
    this.store.setMeta(SAMPLES_KEY, addSamples(stored?.release === release ? stored : undefined, release, incoming));
  }

  private samples(release: string): StoredSamples["samples"] {
    const stored = this.store.getMeta<StoredSamples>(SAMPLES_KEY);
    return stored?.release === release ? stored.samples : [];
  }

  /**
   * The rollout's windows of its earlier steps (read once per step: a step's windows no
   * longer change once it is over) and the stable history of the 15 minutes before the
   * rollout's first window (the latency thresholds of its first windows; a first release
   * has none and calibrates on its first window).
   */
  private rolloutWindows(state: RolloutState): { past: EvidenceWindow[]; history: EvidenceWindow[] } {
    const key = `${state.release}|${state.stepIndex}`;
    if (this.rollout?.key !== key) {
      const all = this.store.windows(state.release, 0);
      const past = all.filter((w) => w.step < state.stepIndex);
      const first = all[0]?.start ?? state.stepStartedAt;
      const history = this.store.windowsBetween(first - BASELINE_WINDOW_MS, first).filter((w) => w.release !== state.release);
      this.rollout = { key, past, history };
    }
    return { past: this.rollout.past, history: this.rollout.history };
  }

  /**
   * One alarm serves two clocks: a 1 s tick while a rollout is active (steps advance
   * and rollbacks happen even without traffic-driven syncs), and the webhook outbox's
   * next retry. An earlier alarm is never pushed later.
   */
  private async schedule(now: number): Promise<void> {
    const state = this.store.loadState();
    const active = state !== undefined && (state.phase === "progressing" || state.phase === "paused") && this.removedAt() === undefined;
    const due = Math.min(active ? now + TICK_MS : Number.POSITIVE_INFINITY, this.notifier.nextDueAt() ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(due)) return;
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > due) await this.ctx.storage.setAlarm(Math.max(due, now));
  }
}
