// The admin API's wire format, once: what `<base>/api/*` takes and returns
// (src/admin/handle-admin.ts), what the coordinator's status and command RPCs carry,
// and what the CLI (scripts/cli), the demo and the dashboard read. Types and constants
// only, so Node scripts import it without the Worker runtime. Fields that can be
// undefined on the server are optional here, because JSON drops undefined.
import type { RouteConfig, SyncConfig } from "./config/schema.js";
import type { DecisionRecord } from "./notification.js";
import type { Phase, RolloutState } from "./rollout/state.js";
import type { MetricVerdict } from "./metrics/metric-stats.js";
import type { MismatchSample, ShadowOutcomeKind } from "./shadow/shadow-outcome.js";
import type { Explanation } from "./stats/decision-types.js";
import type { RolloutDecision, RolloutExplanation } from "./stats/rollout-engine.js";

/** ADMIN_BASE_PATH when the Worker's env does not set it. */
export const DEFAULT_ADMIN_BASE_PATH = "/__canary";

/** Path of the API under ADMIN_BASE_PATH; the dashboard is served at the base itself. */
export const ADMIN_API_PATH = "/api";

/** The `<command>` of POST `<base>/api/routes/:id/<command>`. */
export const ADMIN_COMMANDS = ["rollback", "promote", "pause", "resume", "step"] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

/** Longest accepted `reason`, in characters (it goes to the audit log and webhooks). */
export const MAX_REASON_LENGTH = 500;

/**
 * Body of POST `<base>/api/routes/:id/<command>`; `step` only for `step`. Fields named
 * `step` number steps from 1 as people do (`steps.weights[step - 1]`); `stepIndex` and
 * `index` fields are 0-based indexes into steps.weights.
 */
export interface CommandRequest {
  reason: string;
  step?: number;
}

/** A command as the admin API hands it to the route's coordinator. */
export type OperatorCommand =
  | { type: "rollback" | "promote" | "pause" | "resume"; reason: string }
  | { type: "set_step"; stepIndex: number; reason: string };

/**
 * The phases in which a command changes the rollout (elsewhere it is refused or a
 * no-op); the dashboard enables its buttons by it. A unit test holds it equal to what
 * the state machine (rollout/transition.ts) does.
 */
export const COMMAND_PHASES: Readonly<Record<Exclude<AdminCommand, "step">, readonly Phase[]>> = {
  pause: ["progressing"],
  resume: ["paused", "rolled_back"],
  promote: ["progressing", "paused"],
  rollback: ["idle", "progressing", "paused", "promoted"],
};

/** One arm of a step's evidence, in numbers a human reads. */
export interface ArmTraffic {
  requests: number;
  errors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface EvidenceSummary {
  stable: ArmTraffic;
  canary: ArmTraffic;
  /** Observed canary share of requests, 0..1. */
  canaryShare: number;
}

/** One evidence window of the chart series; `t` is the window's start (ms epoch). */
export interface SeriesPoint {
  t: number;
  stable: ArmTraffic;
  canary: ArmTraffic;
}

/**
 * The engine's latest verdict; `epoch` is the state epoch it was made on (stale once the
 * epoch moves). explanation.needed and explanation.etaSec say what evidence the step still
 * needs and about how long it will take at the current traffic.
 */
export type LastDecision = Pick<RolloutDecision, "action" | "reason" | "explanation" | "onFail"> & { at: number; epoch: number };

/** The coordinator's view of one route (its `status` RPC). */
export interface CoordinatorStatus {
  routeId?: string;
  state?: RolloutState;
  effectiveWeight: number;
  configHash?: string;
  configError?: string[];
  /** "config diverged: edge <h1>, coordinator <h2>" while isolates sync with a config the coordinator does not hold. */
  configDiverged?: string;
  /** When the route was found gone from the config (its coordinator then stops its alarm). */
  removedAt?: number;
  /**
   * The current step. `stage` is its label ("shadow 10%", "5%") and `kind` its stage kind;
   * `shadowPercent` the share of users whose requests are mirrored, in a shadow stage (where
   * `weight` is 0: every user is served by stable).
   */
  step?: {
    index: number;
    weight: number;
    stage?: string;
    kind?: "live" | "shadow";
    shadowPercent?: number;
    /** A ring stage's audience label ("staff+nz"), whose `percent` the stage serves. */
    audience?: string;
    startedAt: number;
    evidence: EvidenceSummary;
  };
  /** The plan, each stage by its label, the current one marked (absent from servers before ring stages). */
  plan?: PlanStageStatus[];
  /** Per ring of a plan with ring stages: who the canary serves and what the engine compares it with. */
  rings?: RingStatus[];
  /** Per metric of route.metrics: both arms' per-user means, the relative difference and its interval (the engine's latest). */
  metrics?: MetricVerdict[];
  /** With route.metrics: users the coordinator keeps per-user events of, its bound, and events of users beyond it (not attributed). */
  metricUsers?: { users: number; limit: number; overflow: number };
  lastDecision?: LastDecision;
  /** Isolates heard from in the last minute. */
  isolates: number;
  series: SeriesPoint[];
  /** The coordinator's clock, so clients say "ago" without trusting their own. */
  now: number;
}

/** One stage of a route's plan in status. */
export interface PlanStageStatus {
  label: string;
  kind: "live" | "shadow";
  /** A ring stage's audience label. */
  audience?: string;
  current: boolean;
}

/** Requests, errors and (estimated, distinct) users of one arm of a ring, in the current rollout. */
export interface RingArmStatus {
  requests: number;
  errors: number;
  users: number | null;
}

/**
 * One ring (plan.ts Ring) in status: its audience, the share of it the canary serves now,
 * and its traffic in the current rollout. `baseline` says what the engine compares the
 * ring's canary requests with: "ring", the ring's own stable users; "all", every stable
 * user (the ring has too few stable users, e.g. at 100%).
 */
export interface RingStatus {
  key: string;
  percent: number;
  /** The current stage's ring (the newest audience). */
  current: boolean;
  canary: RingArmStatus;
  stable: RingArmStatus;
  baseline: "ring" | "all";
}

/** Body of POST `<base>/api/explain`: a request as the Worker would see it. */
export interface ExplainRequest {
  /** Absolute URL, or a path (then the first route's host rules apply to no host). */
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** request.cf fields (country, continent, colo, region, regionCode, asn, isEUCountry). */
  cf?: Record<string, string>;
  /** The cohort identity; absent: an identity is minted, as for a new visitor. */
  identity?: string;
}

/** POST `<base>/api/explain`: what edge-canary would do with that request, and why. */
export interface ExplainResponse {
  route: string | null;
  release?: string;
  /** The current stage's label, or the phase when not progressing. */
  stage?: string;
  /** Every segment of the config, and whether the request is in it. */
  segments: Record<string, boolean>;
  /** The ring the request's evidence is counted in (null: everyone else). */
  ring: string | null;
  /** The request's bucket (0..9999) under the release's salt. */
  bucket?: number;
  variant: "stable" | "canary" | null;
  /** One sentence: why this variant ("in ring staff at 100%", "bucket 4210 >= 500 (5%)", "country filter"). */
  reason: string;
}

/**
 * GET `<base>/api/routes/:id/shadow`: the shadow comparison of the current release. `stage`
 * is the current stage's label ("shadow 10%") or null outside a shadow stage; `outcomes`
 * count the mirrors of the rollout's shadow stages so far, `mismatchRate` is
 * mismatch / (match + mismatch + skipped) or null before any; `samples` are the newest mismatches, newest first.
 */
export interface ShadowReport {
  route: string;
  release: string | null;
  stage: string | null;
  outcomes: Record<ShadowOutcomeKind, number>;
  mismatchRate: number | null;
  /**
   * p50/p99 of time to headers, ms (null before any). source "reference": on the reference
   * pairs (a stable request sent together with the canary mirror; what the engine's latency
   * test reads); "user": no reference pairs (shadow.latencyPairs 0 or none yet), the mirrors
   * against the users' own stable requests, which ran earlier and lean against the canary.
   * Optional source/pairs: absent from servers before reference pairs.
   */
  latency: { source?: "reference" | "user"; pairs?: number; stable: { p50: number | null; p99: number | null }; canary: { p50: number | null; p99: number | null } };
  samples: MismatchSample[];
}

/** The answering isolate's sync with the route's coordinator. */
export interface IsolateSyncStatus {
  epoch?: number;
  syncedAgoMs: number | null;
  failSafe: boolean;
  lastError?: string;
  syncs: number;
  /** "config diverged: edge <h1>, coordinator <h2>" while this isolate serves a config the coordinator has not confirmed. */
  configDiverged?: string;
}

export interface RouteStatus {
  id: string;
  config: RouteConfig;
  coordinator: CoordinatorStatus;
  /** null until this isolate has served the route. */
  isolate: IsolateSyncStatus | null;
}

/** GET `<base>/api/status` */
export interface StatusResponse {
  configError: string[] | null;
  sync: SyncConfig;
  routes: RouteStatus[];
}

/**
 * One audit row: the decision as notified, plus the engine's statistics and the config
 * in force. `step` counts from 1 (steps.weights[step - 1]; 1 in manual mode).
 */
export interface AuditEntry extends Omit<DecisionRecord, "route"> {
  id: number;
  /** The engine's statistics behind the change, when the engine acted (older rows: the v1 engine's). */
  explanation?: RolloutExplanation | Explanation;
  configHash: string;
}

/** An audit row as GET /events returns it, with its route. */
export interface AuditEvent extends AuditEntry {
  route: string;
}

/** Defaults and bounds of GET /events' `limit`. */
export const EVENTS_LIMIT = { default: 50, min: 1, max: 500 } as const;

/** GET `<base>/api/events[?route=&limit=&before=]`; `next` is the `before` of the next page (one route only). */
export interface EventsResponse {
  events: AuditEvent[];
  next: number | null;
}

/** POST `<base>/api/routes/:id/<command>` */
export interface CommandResponse {
  route: string;
  state: RolloutState;
  /** Canary percent served after the command (0 when rolled back, whatever the step's weight). */
  effectiveWeight: number;
}

/** Every non-2xx answer of the API. */
export interface ErrorResponse {
  status: number;
  error: string;
}

/** What the server hands the dashboard's script (rendered into the page as JSON). */
export interface DashboardSettings {
  /** ADMIN_BASE_PATH. */
  base: string;
  /** ADMIN_API_PATH. */
  apiPath: string;
  /** Header the dashboard sends on every API call (required on cookie-authenticated POSTs). */
  csrfHeader: string;
  pollMs: number;
  /** Width of one evidence window, ms: the newest point's rate divides by the time it has covered. */
  windowMs: number;
  eventsLimit: number;
  /** The buttons, in order: [command, label]. */
  actions: ReadonlyArray<readonly [Exclude<AdminCommand, "step">, string]>;
  commandPhases: typeof COMMAND_PHASES;
}
