// Simulated users. Each user is a browser-like client with its own cookie jar: the
// first response mints its `canary_id` cookie, every later request sends the jar back.
// A pool of workers sends GETs round-robin over the users (a user never has two
// requests in flight, like a person clicking through a site). Each traffic window
// returns what users saw: the variant that served them, their cohort (a fallback is a
// canary request served by stable), minted cookies, fallbacks and failures, plus a
// timeline of every request (start time, who served it) so a phase can tell when the
// last user left the canary after a rollback. A window can send its users to other
// paths (the shadow phase calls the JSON API): a JSON answer names its origin in the
// x-origin-version header instead of the page text.
import type { Variant } from "../../src/core/config/schema.js";
import { cohortOf } from "./convergence.js";

const PAGES = ["/", "/products", "/products/42", "/cart", "/account", "/search?q=boots"];

export interface SimUser {
  index: number;
  jar: Map<string, string>;
  busy: boolean;
  /** Cohort in the most recent window this user was seen in. */
  lastCohort?: Variant;
}

export interface UserWindow {
  requests: number;
  cohorts: Set<Variant>;
  first: Variant | undefined;
  last: Variant | undefined;
  /** Cohort in the previous window, for "who moved". */
  before: Variant | undefined;
  /** Times the cohort changed within this window (a rollback moves a canary user once). */
  switches: number;
}

/** One request as the user saw it. `served` is x-canary-variant, also on error responses. */
export interface Visit {
  /** ms epoch when the request was sent. */
  at: number;
  /** Index of the user who sent it (Traffic.users). */
  user: number;
  served: Variant | undefined;
  cohort: Variant | undefined;
  ok: boolean;
}

export interface WindowStats {
  label: string;
  weight: number;
  ms: number;
  requests: number;
  served: Record<Variant, number>;
  cohortRequests: Record<Variant, number>;
  fallbacks: number;
  failed: number;
  failures: Map<string, number>;
  minted: number;
  /** Page said "Served by X" while the header said Y. */
  mismatches: number;
  latenciesMs: number[];
  users: Map<number, UserWindow>;
  timeline: Visit[];
}

export interface LiveSnapshot {
  elapsedMs: number;
  durationMs: number;
  stats: WindowStats;
}

export interface TrafficOptions {
  label: string;
  /** Configured canary weight, for display and checks. */
  weight: number;
  durationMs: number;
  onProgress?: (snap: LiveSnapshot) => void;
  progressEveryMs?: number;
  /** Ends the window early once this returns true (checked before each request). */
  stopWhen?: (stats: WindowStats) => boolean;
  /** Paths the users request, one picked at random per request; default: the HTML pages. */
  paths?: readonly string[];
}

export const emptyStats = (label: string, weight: number): WindowStats => ({
  label,
  weight,
  ms: 0,
  requests: 0,
  served: { stable: 0, canary: 0 },
  cohortRequests: { stable: 0, canary: 0 },
  fallbacks: 0,
  failed: 0,
  failures: new Map(),
  minted: 0,
  mismatches: 0,
  latenciesMs: [],
  users: new Map(),
  timeline: [],
});

export class Traffic {
  readonly users: SimUser[];
  private cursor = 0;
  private stopped = false;
  /** Earliest time the next request may start when a rate cap is set. */
  private nextSlot = 0;

  constructor(
    private readonly baseUrl: string,
    userCount: number,
    readonly concurrency: number,
    private readonly cookieName = "canary_id",
    /** Optional cap on request starts per second (simulates a slow machine); 0 = none. */
    readonly maxRps = 0,
  ) {
    this.users = Array.from({ length: userCount }, (_, index) => ({ index, jar: new Map(), busy: false }));
  }

  /** Ends any running window early (Ctrl-C). */
  stop(): void {
    this.stopped = true;
  }

  async run(opts: TrafficOptions): Promise<WindowStats> {
    const stats = emptyStats(opts.label, opts.weight);
    const started = Date.now();
    const deadline = started + opts.durationMs;
    const ticker = opts.onProgress
      ? setInterval(
          () => opts.onProgress?.({ elapsedMs: Date.now() - started, durationMs: opts.durationMs, stats }),
          opts.progressEveryMs ?? 200,
        )
      : undefined;
    const worker = async () => {
      while (!this.stopped && Date.now() < deadline && !opts.stopWhen?.(stats)) {
        const user = this.nextUser();
        if (!user) {
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        user.busy = true;
        try {
          if (this.maxRps > 0) await this.waitForSlot();
          await this.visit(user, stats, opts.paths);
        } finally {
          user.busy = false;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: this.concurrency }, worker));
    } finally {
      if (ticker) clearInterval(ticker);
    }
    stats.ms = Date.now() - started;
    for (const [index, w] of stats.users) {
      const user = this.users[index];
      if (user && w.last) user.lastCohort = w.last;
    }
    opts.onProgress?.({ elapsedMs: stats.ms, durationMs: opts.durationMs, stats });
    return stats;
  }

  private async waitForSlot(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.maxRps;
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }

  private nextUser(): SimUser | undefined {
    for (let i = 0; i < this.users.length; i++) {
      const user = this.users[this.cursor];
      this.cursor = (this.cursor + 1) % this.users.length;
      if (user && !user.busy) return user;
    }
    return undefined;
  }

  private async visit(user: SimUser, stats: WindowStats, paths: readonly string[] = PAGES): Promise<void> {
    const path = paths[Math.floor(Math.random() * paths.length)] ?? "/";
    const html = paths === PAGES;
    const headers: Record<string, string> = { accept: html ? "text/html" : "application/json" };
    if (user.jar.size > 0) headers.cookie = [...user.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const t0 = performance.now();
    const at = Date.now();
    let res: Response;
    let body: string;
    try {
      res = await fetch(this.baseUrl + path, { headers, signal: AbortSignal.timeout(15_000) });
      body = await res.text();
    } catch (e) {
      if (this.stopped) return;
      stats.requests++;
      stats.failed++;
      const key = `network: ${(e as Error).message}`;
      stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1);
      stats.timeline.push({ at, user: user.index, served: undefined, cohort: undefined, ok: false });
      return;
    }
    stats.latenciesMs.push(performance.now() - t0);
    stats.requests++;

    for (const sc of res.headers.getSetCookie()) {
      const pair = sc.split(";", 1)[0] ?? "";
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      user.jar.set(name, pair.slice(eq + 1).trim());
      if (name === this.cookieName) stats.minted++;
    }

    const served = res.headers.get("x-canary-variant");
    const cohort = cohortOf(res);
    const variant = served === "stable" || served === "canary" ? served : undefined;
    if (res.status !== 200 || !cohort || !variant) {
      stats.failed++;
      const key = `HTTP ${res.status}${variant ? ` from ${variant}` : ""}${res.headers.get("x-canary-error") ? ` ${res.headers.get("x-canary-error")}` : ""}`;
      stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1);
      stats.timeline.push({ at, user: user.index, served: variant, cohort, ok: false });
      return;
    }
    stats.timeline.push({ at, user: user.index, served: variant, cohort, ok: true });
    stats.served[variant]++;
    stats.cohortRequests[cohort]++;
    if (res.headers.get("x-canary-fallback") === "1") stats.fallbacks++;
    const page = html ? /Served by (\w+)/.exec(body)?.[1] : (res.headers.get("x-origin-version") ?? undefined);
    if (page !== served) stats.mismatches++;

    let w = stats.users.get(user.index);
    if (!w) {
      w = { requests: 0, cohorts: new Set(), first: undefined, last: undefined, before: user.lastCohort, switches: 0 };
      stats.users.set(user.index, w);
    }
    w.requests++;
    w.cohorts.add(cohort);
    w.first ??= cohort;
    if (w.last !== undefined && w.last !== cohort) w.switches++;
    w.last = cohort;
  }
}

// ---- derived numbers ------------------------------------------------------------

export interface Summary {
  rps: number;
  p50: number;
  p95: number;
  usersSeen: number;
  canaryUsers: number;
  canaryUserShare: number;
  canaryRequestShare: number;
  returning: number;
  sticky: number;
  stickiness: number;
  movedToCanary: number;
  movedToStable: number;
  comparedWithBefore: number;
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);

export function summarize(s: WindowStats): Summary {
  const lat = [...s.latenciesMs].sort((a, b) => a - b);
  let canaryUsers = 0;
  let returning = 0;
  let sticky = 0;
  let movedToCanary = 0;
  let movedToStable = 0;
  let compared = 0;
  for (const w of s.users.values()) {
    const only = w.cohorts.size === 1 ? [...w.cohorts][0] : undefined;
    if (w.first === "canary") canaryUsers++;
    if (w.requests >= 2) {
      returning++;
      if (only) sticky++;
    }
    if (w.before && w.first) {
      compared++;
      if (w.before === "stable" && w.first === "canary") movedToCanary++;
      if (w.before === "canary" && w.first === "stable") movedToStable++;
    }
  }
  const cohortTotal = s.cohortRequests.stable + s.cohortRequests.canary;
  return {
    rps: s.ms > 0 ? (s.requests * 1000) / s.ms : 0,
    p50: quantile(lat, 0.5),
    p95: quantile(lat, 0.95),
    usersSeen: s.users.size,
    canaryUsers,
    canaryUserShare: s.users.size > 0 ? canaryUsers / s.users.size : 0,
    canaryRequestShare: cohortTotal > 0 ? s.cohortRequests.canary / cohortTotal : 0,
    returning,
    sticky,
    stickiness: returning > 0 ? sticky / returning : 1,
    movedToCanary,
    movedToStable,
    comparedWithBefore: compared,
  };
}

/**
 * Allowed distance between the observed canary share of users and the weight: four
 * binomial standard deviations for n users (cohorts come from random ids), plus one
 * point. A false alarm is then rarer than 1 in 10,000 runs.
 */
export function splitTolerance(weightPercent: number, users: number): number {
  const p = weightPercent / 100;
  return 4 * Math.sqrt((p * (1 - p)) / Math.max(1, users)) + 0.01;
}
