// `watch`: a live view of every route, redrawn in place on a terminal (ANSI home +
// clear, cursor hidden) and printed frame after frame, without escape codes, when
// stdout is not a TTY. Each frame: phase, step/weight, per-variant requests, error
// rate and p50/p95/p99 of the current step (status.step.evidence), isolates, the last
// engine decision, the plan and its rings (as `status` shows them), and the last audit
// events. A failed refresh is shown in the frame and retried; `--once` prints one frame
// and exits (1 if the API call failed).
import { parseArgs } from "node:util";
import type { EventsResponse, StatusResponse } from "../../src/core/admin-protocol.js";
import { ADMIN_HELP, CliError, EXIT_FAILURE, EXIT_OK, UsageError, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, type AdminTarget, type CliIo, type Command } from "./common.js";
import { evidenceTable, eventsTable, metricsTable, planTable, ringsTable, routesTable, statusWarnings } from "./status-view.js";
import { isoShort } from "./table.js";

const usage = "watch [--interval <ms>] [--events <n>] [--once]";
const summary = "Live view of every route's rollout, refreshed until Ctrl-C.";

const ESC = "\u001b[";

export interface WatchFrameInput {
  base: string;
  now: number;
  intervalMs: number;
  status?: StatusResponse;
  events?: EventsResponse;
  error?: string;
  /** Bold headings and a red error line; only on a terminal without NO_COLOR. */
  color: boolean;
}

export function renderWatchFrame(f: WatchFrameInput): string {
  const bold = (s: string): string => (f.color ? `${ESC}1m${s}${ESC}22m` : s);
  const red = (s: string): string => (f.color ? `${ESC}31m${s}${ESC}39m` : s);
  const parts = [`${bold("edge-canary watch")}  ${f.base}  ${isoShort(f.now)}  every ${f.intervalMs / 1000}s\n`];
  if (f.error) parts.push(red(`! refresh failed: ${f.error}\n`));
  if (f.status) {
    for (const w of statusWarnings(f.status)) parts.push(red(`! ${w}\n`));
    parts.push(`\n${routesTable(f.status, f.now)}`);
    const plan = planTable(f.status);
    if (plan) parts.push(`\n${bold("Plan")}\n${plan}`);
    const rings = ringsTable(f.status);
    if (rings) parts.push(`\n${bold("Rings")}\n${rings}`);
    parts.push(`\n${bold("Current step, per variant")}\n${evidenceTable(f.status)}`);
    const metrics = metricsTable(f.status);
    if (metrics) parts.push(`\n${bold("Metrics")}\n${metrics}`);
  }
  if (f.events) {
    parts.push(`\n${bold("Recent events")}\n${f.events.events.length ? eventsTable(f.events.events, f.now) : "no events\n"}`);
  }
  return parts.join("");
}

async function snapshot(io: CliIo, target: AdminTarget, eventCount: number): Promise<{ status: StatusResponse; events: EventsResponse }> {
  const [status, events] = await Promise.all([
    adminCall<StatusResponse>(io, target, "GET", "/status"),
    // The API refuses limit=0 (400): with --events 0 there is nothing to ask for.
    eventCount > 0 ? adminCall<EventsResponse>(io, target, "GET", `/events?limit=${eventCount}`) : Promise.resolve<EventsResponse>({ events: [], next: null }),
  ]);
  return { status, events };
}

export const watchCommand: Command = {
  name: "watch",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, help } = parse(
      () =>
        parseArgs({
          args,
          options: { ...helpOption, ...adminOptions, interval: { type: "string", short: "i" }, events: { type: "string" }, once: { type: "boolean" } },
          allowPositionals: true,
        }),
      { min: 0, max: 0 },
    );
    if (help) {
      io.out(
        helpText(
          usage,
          summary,
          `Options:\n  --interval <ms>  refresh period, 250-60000 (default 2000)\n  --events <n>     audit events to show, 0-50 (default 5)\n  --once           print one frame and exit\n\n${ADMIN_HELP}\n\nOn a terminal the view redraws in place; piped, each frame is printed in full without escape codes.`,
        ),
      );
      return EXIT_OK;
    }
    const intervalMs = Number(values.interval ?? 2000);
    if (!Number.isInteger(intervalMs) || intervalMs < 250 || intervalMs > 60_000) throw new UsageError("--interval must be an integer from 250 to 60000 (ms)");
    const eventCount = Number(values.events ?? 5);
    if (!Number.isInteger(eventCount) || eventCount < 0 || eventCount > 50) throw new UsageError("--events must be an integer from 0 to 50");
    const target = adminTarget(values, io.env);
    const color = io.isTTY && io.env.NO_COLOR === undefined;
    const frame = async (): Promise<WatchFrameInput> => {
      const base = { base: target.base, now: Date.now(), intervalMs, color };
      try {
        const snap = await snapshot(io, target, Math.max(1, eventCount));
        return { ...base, status: snap.status, events: eventCount > 0 ? snap.events : undefined };
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        return { ...base, error: e.message };
      }
    };

    if (values.once) {
      const f = await frame();
      io.out(renderWatchFrame(f));
      if (f.error) io.err(`error: ${f.error}\n`);
      return f.error ? EXIT_FAILURE : EXIT_OK;
    }

    let stopped = false;
    let wake: () => void = () => {};
    const stop = (): void => {
      stopped = true;
      wake();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (io.isTTY) io.out(`${ESC}?25l`);
    try {
      while (!stopped) {
        const f = await frame();
        if (stopped) break;
        io.out(io.isTTY ? `${ESC}H${ESC}2J${renderWatchFrame(f)}${ESC}2m(Ctrl-C to quit)${ESC}22m\n` : `${renderWatchFrame(f)}\n`);
        await Promise.race([io.sleep(intervalMs), new Promise<void>((r) => (wake = r))]);
      }
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (io.isTTY) io.out(`${ESC}?25h`);
    }
    return EXIT_OK;
  },
};
