// The admin API's JSON as the CLI reads it (src/admin/handle-admin.ts). The pure data
// types are imported (type-only, nothing runs); the status envelope is written out
// here rather than imported from the coordinator, whose module imports
// `cloudflare:workers`: a client depends on the wire format, not on server internals.
// Fields the CLI does not print are left out; optional ones are optional because JSON
// drops undefined.
import type { DecisionRecord } from "../../src/core/notification.js";
import type { ArmTraffic, EvidenceSummary } from "../../src/coordinator/evidence-summary.js";

export type { ArmTraffic, EvidenceSummary };

export interface RolloutStateView {
  routeId: string;
  release: string;
  mode: "manual" | "steps";
  phase: string;
  stepIndex: number;
  stepStartedAt: number;
  epoch: number;
  configHash: string;
  weights: number[];
  lastChange: { at: number; actor: string; event: string; reason: string };
}

export interface CoordinatorStatusView {
  routeId?: string;
  state?: RolloutStateView;
  effectiveWeight: number;
  configHash?: string;
  configError?: string[];
  step?: { index: number; weight: number; startedAt: number; evidence: EvidenceSummary };
  /** epoch: the rollout epoch the engine decided in (the state has moved on when it differs). */
  lastDecision?: { action: string; reason: string; at: number; epoch?: number; explanation?: unknown };
  isolates: number;
  now: number;
}

export interface IsolateSyncView {
  epoch?: number;
  syncedAgoMs: number | null;
  failSafe: boolean;
  lastError?: string;
  syncs: number;
}

export interface RouteStatusView {
  id: string;
  config: { release: string; weight: number; steps?: { weights: number[] } };
  coordinator: CoordinatorStatusView;
  isolate: IsolateSyncView | null;
}

/** GET <base>/api/status */
export interface StatusResponse {
  configError: string[] | null;
  sync: { intervalMs: number; staleAfterMs: number; coldWaitMs: number };
  routes: RouteStatusView[];
}

/** An audit row as GET /events returns it. */
export interface AuditEventView extends DecisionRecord {
  id: number;
}

/** GET <base>/api/events */
export interface EventsResponse {
  events: AuditEventView[];
  next: number | null;
}

/** POST <base>/api/routes/:id/<command> */
export interface CommandResponse {
  route: string;
  state: RolloutStateView;
}
