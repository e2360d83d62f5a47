// `status`: every route's phase, step, weight and current-step evidence from the admin
// API (GET <base>/api/status), as tables or as the API's JSON with --json. A route in a
// shadow stage serves no canary, so its evidence is the comparison: one line per such
// route from GET <base>/api/routes/:id/shadow (`shadow <route>` shows it whole). A plan
// is shown stage by stage with the current one in brackets, and a plan with ring stages
// gets a table of its rings (who the canary serves, and their traffic per arm); a server
// from before ring stages sends neither plan nor rings, and the plan then comes from the
// rollout state's stage labels. A route with route.metrics gets a table of its metrics:
// both arms' per-user means, the relative difference, its interval and the verdict
// (absent from servers before metrics).
import { parseArgs } from "node:util";
import type { ShadowReport, StatusResponse } from "../../src/core/admin-protocol.js";
import { ADMIN_HELP, EXIT_OK, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { mirroredCount } from "./shadow.js";
import { evidenceTable, metricsTable, planTable, ringsTable, routesTable, statusWarnings } from "./status-view.js";
import { count, percent } from "./table.js";

const usage = "status [--json] [--url <url>] [--token <token>]";
const summary = "Show every route's rollout: phase, step, weight, isolates, last decision, the plan, rings, per-variant evidence and metric guardrails.";

/** Routes whose current stage is a shadow stage. */
export const shadowRoutes = (status: StatusResponse): string[] => status.routes.filter((r) => r.coordinator.step?.kind === "shadow").map((r) => r.id);

/** "www (shadow 10%): 412 mirrored, mismatch rate 0.49% (2), canary errors 0, timeouts 0; newest: GET /api/quote json total". */
export function shadowLine(r: ShadowReport): string {
  const head = `${r.route} (${r.stage ?? "not in a shadow stage"})`;
  const n = mirroredCount(r);
  if (n === 0) return `${head}: no shadow data yet`;
  const o = r.outcomes;
  const newest = r.samples[0];
  const sample = newest ? `; newest mismatch: ${newest.method} ${newest.path} ${newest.part} ${newest.detail.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 80)}` : "";
  return `${head}: ${count(n)} mirrored, mismatch rate ${percent(r.mismatchRate)} (${count(o.mismatch ?? 0)}), canary errors ${count(o.canary_error ?? 0)}, timeouts ${count(o.canary_timeout ?? 0)}${sample}`;
}

export function renderStatus(status: StatusResponse, now: number, shadow: readonly ShadowReport[] = []): string {
  const warnings = statusWarnings(status).map((w) => `! ${w}\n`);
  const comparisons = shadow.length > 0 ? `\nShadow comparison (npm run canary -- shadow <route> for the samples):\n${shadow.map((r) => `${shadowLine(r)}\n`).join("")}` : "";
  const plan = planTable(status);
  const rings = ringsTable(status);
  const metrics = metricsTable(status);
  return (
    `${warnings.join("")}${routesTable(status, now)}` +
    (plan ? `\nPlan:\n${plan}` : "") +
    (rings ? `\nRings (share: of the ring, served by the canary; requests and users in the current rollout):\n${rings}` : "") +
    `\nCurrent step, per variant:\n${evidenceTable(status)}` +
    (metrics ? `\nMetrics (per-user means; difference: canary relative to stable, with its interval; tolerated: the guardrail's limit):\n${metrics}` : "") +
    comparisons
  );
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
    else {
      const target = adminTarget(values, io.env);
      const shadow = await Promise.all(shadowRoutes(status).map((id) => adminCall<ShadowReport>(io, target, "GET", `/routes/${encodeURIComponent(id)}/shadow`)));
      io.out(renderStatus(status, Date.now(), shadow));
    }
    return EXIT_OK;
  },
};
