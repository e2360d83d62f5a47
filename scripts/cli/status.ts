// `status`: every route's phase, step, weight and current-step evidence from the admin
// API (GET <base>/api/status), as tables or as the API's JSON with --json.
import { parseArgs } from "node:util";
import type { StatusResponse } from "../../src/core/admin-protocol.js";
import { ADMIN_HELP, EXIT_OK, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { evidenceTable, routesTable, statusWarnings } from "./status-view.js";

const usage = "status [--json] [--url <url>] [--token <token>]";
const summary = "Show every route's rollout: phase, step, weight, isolates, last decision and per-variant evidence.";

export function renderStatus(status: StatusResponse, now: number): string {
  const warnings = statusWarnings(status).map((w) => `! ${w}\n`);
  return `${warnings.join("")}${routesTable(status, now)}\nCurrent step, per variant:\n${evidenceTable(status)}`;
}

export const statusCommand: Command = {
  name: "status",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, help } = parse(() => parseArgs({ args, options: { ...helpOption, ...adminOptions, json: { type: "boolean" } }, allowPositionals: true }), { min: 0, max: 0 });
    if (help) {
      io.out(helpText(usage, summary, `Options:\n  --json  print the API's JSON unchanged\n\n${ADMIN_HELP}`));
      return EXIT_OK;
    }
    const status = await adminCall<StatusResponse>(io, adminTarget(values, io.env), "GET", "/status");
    if (values.json) printJson(io, status);
    else io.out(renderStatus(status, Date.now()));
    return EXIT_OK;
  },
};
