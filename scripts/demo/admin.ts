// The demo's view of the admin API (`/__canary/api`, bearer ADMIN_TOKEN): the route's
// rollout status, its audit log and its shadow comparison, exactly what the CLI and the dashboard read, in
// the wire types of src/core/admin-protocol.ts.
import { ADMIN_API_PATH, type AuditEvent, type EventsResponse, type RouteStatus, type ShadowReport, type StatusResponse } from "../../src/core/admin-protocol.js";
import type { Printer } from "./print.js";

export class AdminClient {
  constructor(
    /** Worker base URL, e.g. http://127.0.0.1:8787 */
    readonly workerUrl: string,
    readonly token: string,
    readonly base = "/__canary",
  ) {}

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.workerUrl}${this.base}${ADMIN_API_PATH}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${this.base}${ADMIN_API_PATH}${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  async route(routeId: string): Promise<RouteStatus> {
    const status = await this.get<StatusResponse>("/status");
    const route = status.routes.find((r) => r.id === routeId);
    if (!route) throw new Error(`GET /status has no route "${routeId}"`);
    return route;
  }

  /** The shadow comparison of the route's current release (GET /routes/:id/shadow). */
  async shadow(routeId: string): Promise<ShadowReport> {
    return this.get<ShadowReport>(`/routes/${encodeURIComponent(routeId)}/shadow`);
  }

  /** Newest first. */
  async events(routeId: string, limit = 50): Promise<AuditEvent[]> {
    return (await this.get<EventsResponse>(`/events?route=${encodeURIComponent(routeId)}&limit=${limit}`)).events;
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
