// The coordinator: one Durable Object per route (idFromName(route id)). It holds what
// is true now (phase, step, epoch), merges the evidence isolates deliver on sync, runs
// the decision engine on every sync (throttled) and on a 1 s alarm tick, applies the
// result through the pure state machine, and writes every change with its reason and
// statistics to the audit log. It reads the KV config itself, so its view of what the
// operator wants does not depend on which isolate called last.
import { DurableObject } from "cloudflare:workers";
import { EVENTS_LIMIT, type AuditEntry, type CoordinatorStatus, type OperatorCommand } from "../core/admin-protocol.js";
import { NotifySchema, StepsSchema, type NotifyConfig, type RouteConfig } from "../core/config/schema.js";
import { emptyEvidence, mergeEvidence, type Evidence } from "../core/evidence.js";
import { effectiveWeight } from "../core/rollout/effective-weight.js";
import type { RolloutEvent } from "../core/rollout/events.js";
import type { RolloutState } from "../core/rollout/state.js";
import { transition, type TransitionError } from "../core/rollout/transition.js";
import { ok, type Result } from "../core/result.js";
import { routeHash } from "../core/route-hash.js";
import type { Explanation } from "../core/stats/decision-engine.js";
import { decideRollout, type RolloutExplanation } from "../core/stats/rollout-engine.js";
import { updateRollout, type RolloutMemo } from "../core/stats/rollout-evidence.js";
import type { SyncRequest, SyncResponse } from "../core/sync-protocol.js";
import { ConfigCache } from "../config/config-cache.js";
import { coordinatorClock } from "./clock.js";
import { summarize, series } from "./evidence-summary.js";
import { migrate } from "./schema.js";
import { CoordinatorStore, type EvidenceWindow } from "./store.js";
import { Notifier } from "./notifier.js";

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
/**
 * A manual rollout has no steps and never advances; the engine still judges it (and
 * may roll it back) with a default step's minimum duration and no request minimum.
 */
const MANUAL_STEP = { minDurationSec: StepsSchema.shape.minDurationSec.parse(undefined), minRequests: 0 };

export class Coordinator extends DurableObject<Env> {
  private readonly store: CoordinatorStore;
  private readonly notifier: Notifier;
  /** Until a config is read: the schema's defaults. */
  private notify: NotifyConfig = NotifySchema.parse(undefined);
  private readonly configCache = new ConfigCache();
  private route: { config: RouteConfig; hash: string; readAt: number } | undefined;
  private lastEvalAt = 0;
  /** The rollout's windows of earlier steps (immutable once their step is over) and the stable history before it. */
  private rollout: { key: string; past: EvidenceWindow[]; history: EvidenceWindow[] } | undefined;
  /** The engine's memo of the rollout's closed windows (rebuilt from storage after a restart). */
  private memo: RolloutMemo | undefined;
  private lastDecision: CoordinatorStatus["lastDecision"];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage);
    this.store = new CoordinatorStore(ctx.storage.sql);
    this.notifier = new Notifier(ctx.storage.sql);
  }

  /** The clock every decision reads (coordinator/clock.ts). */
  protected now(): number {
    return coordinatorClock.now();
  }

  /** The one isolate call: deliver a delta, get the state back. */
  async sync(req: SyncRequest): Promise<SyncResponse> {
    const now = this.now();
    await this.loadRoute(req.routeId, now, req.configHash);
    let state = this.store.loadState();
    let duplicate = false;
    if (state && req.release === state.release) {
      duplicate = !this.store.applyDelta(req.isolateId, req.seq, state.release, state.stepIndex, now, req.delta);
    }
    if (now - this.lastEvalAt >= EVAL_THROTTLE_MS) state = this.evaluate(now);
    return { state, duplicate, now };
  }

  /** Operator action from the admin API. */
  async command(routeId: string, cmd: OperatorCommand): Promise<Result<RolloutState, TransitionError>> {
    const now = this.now();
    await this.loadRoute(routeId, now);
    const event: RolloutEvent =
      cmd.type === "set_step"
        ? { type: "set_step", stepIndex: cmd.stepIndex, reason: cmd.reason }
        : cmd.type === "rollback"
          ? { type: "rollback", actor: "operator", reason: cmd.reason }
          : { type: cmd.type, reason: cmd.reason };
    return this.apply(event, now);
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
            startedAt: state.stepStartedAt,
            evidence: summarize(this.stepEvidence(state)),
          }
        : undefined;
    return {
      routeId: this.store.getMeta<string>("routeId"),
      state,
      effectiveWeight: route ? effectiveWeight(route, state) : 0,
      configHash: this.route?.hash,
      configError: this.configCache.view().error?.messages,
      step,
      lastDecision: this.lastDecision,
      isolates: this.store.activeIsolates(now, 60_000),
      series: state ? series(this.store.windows(state.release, now - 60 * 60_000)) : [],
      now,
    };
  }

  async events(limit: number = EVENTS_LIMIT.default, before?: number): Promise<AuditEntry[]> {
    return this.store.audit(Math.min(Math.max(EVENTS_LIMIT.min, limit), EVENTS_LIMIT.max), before);
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
  private async loadRoute(routeId: string, now: number, isolateHash?: string): Promise<void> {
    if (this.store.getMeta<string>("routeId") !== routeId) this.store.setMeta("routeId", routeId);
    const age = this.route ? now - this.route.readAt : Number.POSITIVE_INFINITY;
    const due = age >= CONFIG_MAX_AGE_MS || (isolateHash !== undefined && isolateHash !== this.route?.hash && age >= CONFIG_MIN_AGE_MS);
    if (!due) return;
    const view = await this.configCache.refreshNow(this.env.CANARY_CONFIG, now);
    if (view.config) this.notify = view.config.notify;
    const config = view.config?.routes.find((r) => r.id === routeId);
    if (!config) return;
    const hash = routeHash(config);
    this.route = { config, hash, readAt: now };
    this.apply({ type: "config", route: config, configHash: hash }, now);
  }

  /** Applies an event; persists, audits and (re)arms the alarm when it changed something. */
  private apply(event: RolloutEvent, now: number, explanation?: Explanation | RolloutExplanation): Result<RolloutState, TransitionError> {
    const before = this.store.loadState();
    const result = transition(before, event, now);
    if (!result.ok) return result;
    const { state, changed, from } = result.value;
    if (!changed) return ok(state);
    this.store.saveState(state);
    const record = {
      at: now,
      actor: state.lastChange.actor,
      event: event.type,
      release: state.release,
      fromPhase: from ?? null,
      toPhase: state.phase,
      epoch: state.epoch,
      step: state.stepIndex,
      weight: this.route ? effectiveWeight(this.route.config, state) : 0,
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

  private stepEvidence(state: RolloutState): Evidence {
    return this.store.stepWindows(state.release, state.stepIndex).reduce((acc, b) => mergeEvidence(acc, b.evidence), emptyEvidence());
  }

  /** Runs the decision engine (v2: the whole rollout's evidence) and acts on its decision as guardrails.onFail says. */
  private evaluate(now: number): RolloutState | undefined {
    this.lastEvalAt = now;
    const state = this.store.loadState();
    const route = this.route?.config;
    if (!state || !route || state.release !== route.release) return state;
    if (state.phase !== "progressing" && state.phase !== "paused") return state;
    const weight = effectiveWeight(route, state);
    if (weight <= 0) return state;
    const g = route.guardrails;
    const { past, history } = this.rolloutWindows(state);
    const engine = updateRollout(this.memo, `${state.release}|${state.configHash}`, {
      windows: [...past, ...this.store.stepWindows(state.release, state.stepIndex)],
      history,
      weights: state.weights,
      guardrails: g,
      now,
      currentStep: state.stepIndex,
    });
    this.memo = engine.memo;
    const decision = decideRollout({
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
    });
    this.lastDecision = { action: decision.action, onFail: decision.onFail, reason: decision.reason, at: now, epoch: state.epoch, explanation: decision.explanation };
    if (decision.explanation.lowTraffic) this.adviseOnce(state, now, "low_traffic", `low traffic: ${decision.reason}`, decision.explanation);
    if (decision.action === "fail") {
      if (g.onFail === "notify") {
        this.adviseOnce(state, now, "advisory_rollback", `advisory (onFail notify), would roll back: ${decision.reason}`, decision.explanation);
        return state;
      }
      const event: RolloutEvent =
        g.onFail === "pause"
          ? { type: "pause", reason: `engine (onFail pause): ${decision.reason}` }
          : { type: "rollback", actor: "engine", reason: decision.reason, expectedEpoch: state.epoch };
      const r = this.apply(event, now, decision.explanation);
      return r.ok ? r.value : state;
    }
    if (decision.action === "advance" && state.phase === "progressing" && state.mode === "steps") {
      if (g.onFail === "notify") {
        this.adviseOnce(state, now, "advisory_advance", `advisory (onFail notify), would advance: ${decision.reason}`, decision.explanation);
        return state;
      }
      const r = this.apply({ type: "advance", reason: decision.reason, expectedEpoch: state.epoch }, now, decision.explanation);
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
      step: state.stepIndex,
      weight: this.route ? effectiveWeight(this.route.config, state) : 0,
      reason,
    };
    this.store.appendAudit({ ...record, explanation, configHash: state.configHash });
    if (this.notify.webhook) {
      this.notifier.enqueue(this.notify.webhook, { route: state.routeId, ...record }, now);
      this.ctx.waitUntil(this.notifier.flush(Date.now, this.notify.maxAttempts).then(() => this.schedule(Date.now())));
    }
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
    const active = state !== undefined && (state.phase === "progressing" || state.phase === "paused");
    const due = Math.min(active ? now + TICK_MS : Number.POSITIVE_INFINITY, this.notifier.nextDueAt() ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(due)) return;
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > due) await this.ctx.storage.setAlarm(Math.max(due, now));
  }
}
