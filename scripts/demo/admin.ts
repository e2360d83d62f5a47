// The demo's view of the admin API (`/__canary/api`, bearer ADMIN_TOKEN): the route's
// rollout status and its audit log, exactly what the CLI and the dashboard read. The
// wire types are written out here (a subset of CoordinatorStatus in
// src/coordinator/coordinator.ts and AuditEntry in src/coordinator/store.ts) because
// the coordinator module imports `cloudflare:workers`; a client depends on the JSON.
import type { Printer } from "./print.js";

export interface ArmView {
  requests: number;
  errors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
}

export interface RolloutStatusView {
  release: string;
  mode: "manual" | "steps";
  phase: "idle" | "progressing" | "paused" | "promoted" | "rolled_back";
  stepIndex: number;
  stepStartedAt: number;
  epoch: number;
  weights: number[];
  lastChange: { at: number; actor: string; event: string; reason: string };
}

export interface RouteStatus {
  id: string;
  config: { release: string; weight: number; steps?: { weights: number[]; minDurationSec: number; minRequests: number } };
  coordinator: {
    state?: RolloutStatusView;
    effectiveWeight: number;
    step?: { index: number; weight: number; startedAt: number; evidence: { stable: ArmView; canary: ArmView; canaryShare: number } };
    lastDecision?: { action: string; reason: string; at: number };
    isolates: number;
    now: number;
  };
  isolate: { epoch?: number; syncedAgoMs: number | null; syncs: number } | null;
}

export interface AuditEvent {
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

export class AdminClient {
  constructor(
    /** Worker base URL, e.g. http://127.0.0.1:8787 */
    readonly workerUrl: string,
    readonly token: string,
    readonly base = "/__canary",
  ) {}

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.workerUrl}${this.base}/api${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${this.base}/api${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  async route(routeId: string): Promise<RouteStatus> {
    const status = await this.get<{ routes: RouteStatus[] }>("/status");
    const route = status.routes.find((r) => r.id === routeId);
    if (!route) throw new Error(`GET /status has no route "${routeId}"`);
    return route;
  }

  /** Newest first. */
  async events(routeId: string, limit = 50): Promise<AuditEvent[]> {
    return (await this.get<{ events: AuditEvent[] }>(`/events?route=${encodeURIComponent(routeId)}&limit=${limit}`)).events;
  }
}

/**
 * Prints audit events as they appear. `prime()` marks everything already in the log
 * as seen; `poll()` prints the new ones oldest first and returns them.
 */
export class EventFeed {
  private lastId = 0;
  readonly seen: AuditEvent[] = [];

  constructor(
    private readonly admin: AdminClient,
    private readonly routeId: string,
    private readonly print: Printer,
  ) {}

  async prime(): Promise<void> {
    const events = await this.admin.events(this.routeId, 1);
    this.lastId = events[0]?.id ?? 0;
  }

  async poll(): Promise<AuditEvent[]> {
    const fresh = (await this.admin.events(this.routeId, 50)).filter((e) => e.id > this.lastId).reverse();
    for (const e of fresh) {
      this.lastId = Math.max(this.lastId, e.id);
      this.seen.push(e);
      this.print.step(formatEvent(this.print, e));
    }
    return fresh;
  }
}

export function formatEvent(p: Printer, e: AuditEvent): string {
  const actor = e.actor === "engine" ? p.c.magenta(e.actor) : e.actor === "operator" ? p.c.cyan(e.actor) : e.actor;
  const to = e.toPhase === "rolled_back" ? p.c.red(e.toPhase) : e.toPhase === "promoted" ? p.c.green(e.toPhase) : e.toPhase;
  return `${p.c.bold("audit")} #${e.id} ${actor} ${e.event} ${e.release}: ${e.fromPhase ?? "-"} -> ${to}, step ${e.step} at ${e.weight}%  ${p.c.dim(e.reason)}`;
}
