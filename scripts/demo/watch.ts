// Traffic with the control plane in view: while the simulated users browse, a poller
// reads the route's status (GET /__canary/api/status) and audit log (GET /events) a few
// times a second. The live line shows what the coordinator says now (phase, step,
// served weight, the step's evidence, the engine's last decision) next to what users
// get, and each audit event is printed the moment it appears. The window ends after
// its duration, or earlier when `until` says the phase has seen what it came for.
import type { AuditEvent, RouteStatus } from "../../src/core/admin-protocol.js";
import { stageLabels } from "../../src/core/rollout/state.js";
import type { EventFeed } from "./admin.js";
import { DEMO_ROUTE } from "./config.js";
import type { DemoContext } from "./context.js";
import { num, pct } from "./print.js";
import type { LiveSnapshot, WindowStats } from "./traffic.js";

export interface WatchState {
  /** Latest status read, and when (demo clock). */
  status: RouteStatus | undefined;
  statusAt: number;
  /** Audit events that appeared during the window, oldest first. */
  events: AuditEvent[];
  pollErrors: number;
  lastPollError: string | undefined;
  startedAt: number;
}

export interface WatchOptions {
  label: string;
  /** Configured weight for the traffic report (display only). */
  weight: number;
  maxMs: number;
  pollMs?: number;
  /** Checked before each request: true ends the window. */
  until?: (w: WatchState, s: WindowStats) => boolean;
  /** Route whose status is polled (the feed's route); default the demo route. */
  routeId?: string;
  /** Paths the users request (traffic.ts); default the HTML pages. */
  paths?: readonly string[];
}

export async function driveWatching(
  ctx: DemoContext,
  feed: EventFeed,
  opts: WatchOptions,
): Promise<{ stats: WindowStats; watch: WatchState }> {
  const { print } = ctx;
  const watch: WatchState = { status: undefined, statusAt: 0, events: [], pollErrors: 0, lastPollError: undefined, startedAt: Date.now() };
  let polling = true;
  const poll = async () => {
    try {
      const [status, fresh] = await Promise.all([ctx.admin.route(opts.routeId ?? DEMO_ROUTE), feed.poll()]);
      watch.status = status;
      watch.statusAt = Date.now();
      watch.events.push(...fresh);
    } catch (e) {
      watch.pollErrors++;
      watch.lastPollError = (e as Error).message;
    }
  };
  const poller = (async () => {
    while (polling) {
      const t = Date.now();
      await poll();
      const wait = (opts.pollMs ?? 250) - (Date.now() - t);
      if (wait > 0 && polling) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  let stats: WindowStats;
  try {
    stats = await ctx.traffic.run({
      label: opts.label,
      weight: opts.weight,
      durationMs: opts.maxMs,
      stopWhen: opts.until ? (st) => opts.until!(watch, st) : undefined,
      paths: opts.paths,
      onProgress: (snap) => print.live(rolloutLine(ctx, snap, watch)),
      progressEveryMs: print.tty ? 200 : 500,
    });
  } finally {
    polling = false;
    await poller;
  }
  print.endLive();
  if (watch.pollErrors > 0) {
    print.line(print.c.yellow(`    ${watch.pollErrors} status polls failed (last: ${watch.lastPollError})`));
  }
  // Events that landed between the last poll and the end of traffic.
  await poll();
  ctx.windows.push(stats);
  return { stats, watch };
}

/** The live line: time, what the coordinator says, what users got, the engine's last word. */
export function rolloutLine(ctx: DemoContext, snap: LiveSnapshot, watch: WatchState): string[] {
  const p = ctx.print;
  const s = snap.stats;
  const st = watch.status?.coordinator;
  const clock = `    ${p.c.dim(`${(snap.elapsedMs / 1000).toFixed(1).padStart(4)}s`)}`;
  // Who serves users right now: the canary's share of requests sent in the last second.
  let recent = 0;
  let recentCanary = 0;
  const since = Date.now() - 1_000;
  for (let i = s.timeline.length - 1; i >= 0; i--) {
    const v = s.timeline[i]!;
    if (v.at < since) break;
    if (v.served === undefined) continue;
    recent++;
    if (v.served === "canary") recentCanary++;
  }
  const share = recent > 0 ? recentCanary / recent : 0;
  const rps = snap.elapsedMs > 0 ? Math.round((s.requests * 1000) / snap.elapsedMs) : 0;
  const failed = s.failed > 0 ? p.c.red(`failed ${num(s.failed)}`) : "failed 0";
  if (!st?.state) return [clock, `  ${num(s.requests)} req ${rps}/s  ${failed}  (waiting for the first status)`];
  const state = st.state;
  const phase =
    state.phase === "rolled_back" ? p.c.red(state.phase) : state.phase === "promoted" ? p.c.green(state.phase) : state.phase;
  const stages = stageLabels(state);
  const step = state.mode === "steps" ? `step ${state.stepIndex + 1}/${stages.length} ${stages[state.stepIndex] ?? ""}`.trimEnd() : "manual";
  const ev = st.step?.evidence;
  const arm = (name: string, a: { requests: number; errors: number } | undefined) =>
    a ? `${name} ${num(a.requests)}/${a.errors > 0 ? p.c.red(num(a.errors)) : "0"}` : "";
  const reason = st.lastDecision?.reason ?? "";
  const segments = [
    clock,
    ` ${state.release} ${phase} ${step} at ${p.c.bold(`${st.effectiveWeight}%`)}`,
    `  ${p.splitBar(share, 10)} served by canary ${pct(share, 0).padStart(4)}`,
    `  ${failed}`,
    `  ${num(s.requests)} req ${rps}/s`,
    ev ? `  step req/err: ${arm("canary", ev.canary)} ${arm("stable", ev.stable)}` : "",
  ];
  if (!reason) return segments;
  if (!p.tty) return [...segments, `  engine: ${reason}`];
  // On a terminal the engine's reason gets whatever width is left, cut with an ellipsis.
  const visible = (t: string) => t.replace(/\u001b\[[0-9;]*m/g, "").length;
  const used = segments.reduce((n, t) => n + visible(t), 0);
  const room = (process.stdout.columns || 80) - 1 - used - 10;
  if (room < 20) return segments;
  const text = reason.length > room ? `${reason.slice(0, room - 1)}\u2026` : reason;
  return [...segments, `  ${p.c.dim(`engine: ${text}`)}`];
}

/** The engine's rollback of `release` among the events, if it happened. */
export function rollbackOf(events: readonly AuditEvent[], release: string): AuditEvent | undefined {
  return events.find((e) => e.event === "rollback" && e.release === release);
}

/** Users' cohort moves in a window: how many users moved which way, and who moved twice. */
export function cohortMoves(s: WindowStats): { toStable: number; toCanary: number; flappers: number } {
  let toStable = 0;
  let toCanary = 0;
  let flappers = 0;
  for (const w of s.users.values()) {
    if (w.switches > 1) flappers++;
    else if (w.switches === 1 && w.first === "canary") toStable++;
    else if (w.switches === 1 && w.first === "stable") toCanary++;
  }
  return { toStable, toCanary, flappers };
}