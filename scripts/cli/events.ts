// `events`: the audit log, newest first (GET <base>/api/events), as a table or JSON.
// With --route, the API returns a cursor for the next page; it is printed as the
// --before value to pass.
import { parseArgs } from "node:util";
import { RouteSchema } from "../../src/core/config/schema.js";
import type { EventsResponse } from "../../src/core/admin-protocol.js";
import { ADMIN_HELP, EXIT_OK, UsageError, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { eventsTable } from "./status-view.js";

const usage = "events [--route <id>] [--limit <n>] [--before <id>] [--json]";
const summary = "List audit events (who changed what, when and why), newest first.";

export const eventsCommand: Command = {
  name: "events",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, help } = parse(
      () =>
        parseArgs({
          args,
          options: { ...helpOption, ...adminOptions, route: { type: "string", short: "r" }, limit: { type: "string", short: "n" }, before: { type: "string" }, json: { type: "boolean" } },
          allowPositionals: true,
        }),
      { min: 0, max: 0 },
    );
    if (help) {
      io.out(
        helpText(
          usage,
          summary,
          `Options:\n  --route <id>   only this route (also enables paging)\n  --limit <n>    at most n events, 1-500 (default 50)\n  --before <id>  events older than this audit id (paging)\n  --json         print the API's JSON unchanged\n\n${ADMIN_HELP}`,
        ),
      );
      return EXIT_OK;
    }
    const query = new URLSearchParams();
    if (values.route !== undefined) {
      if (!RouteSchema.shape.id.safeParse(values.route).success) throw new UsageError(`--route "${values.route}" is not a valid route id`);
      query.set("route", values.route);
    }
    for (const [flag, raw, min, max] of [["limit", values.limit, 1, 500], ["before", values.before, 1, Number.MAX_SAFE_INTEGER]] as const) {
      if (raw === undefined) continue;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}`);
      query.set(flag, String(n));
    }
    const qs = query.toString();
    const res = await adminCall<EventsResponse>(io, adminTarget(values, io.env), "GET", `/events${qs ? `?${qs}` : ""}`);
    if (values.json) {
      printJson(io, res);
      return EXIT_OK;
    }
    if (res.events.length === 0) io.out("no events\n");
    else io.out(eventsTable(res.events, Date.now()));
    if (res.next !== null) io.out(`more: add --before ${res.next}\n`);
    return EXIT_OK;
  },
};
