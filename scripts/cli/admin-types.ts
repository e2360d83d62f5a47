// The admin API's JSON as the CLI reads it (src/admin/handle-admin.ts). Written out
// here rather than imported: the coordinator module imports `cloudflare:workers`, and
// a client should depend on the wire format, not on server internals. Fields the CLI
// does not print are left out; optional ones are optional because JSON drops undefined.
// Sources: CoordinatorStatus (src/coordinator/coordinator.ts), EvidenceSummary
// (src/coordinator/evidence-summary.ts), AuditEntry (src/coordinator/store.ts),
// RouteSyncStatus (src/edge/coordinator-client.ts), RolloutState (src/core/rollout/state.ts).

export interface ArmSummary {
  requests: number;
  errors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface EvidenceSummary {
  stable: ArmSummary;
  canary: ArmSummary;
  canaryShare: number;
}

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
  lastDecision?: { action: string; reason: string; at: number; explanation?: unknown };
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

export interface AuditEventView {
  route: string;
  id: number;
  at: number;
  actor: string;
  event: string;
  release: string;
  fromPhase: string | null;
  toPhase: string;
  epoch: number;
  step: number;
  weight: number;
  reason: string;
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
