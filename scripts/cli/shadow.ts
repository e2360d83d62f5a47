// `shadow <route>`: the shadow comparison of a route's current release (GET
// <base>/api/routes/:id/shadow): mirrors per outcome, the mismatch rate, paired p50/p99
// of stable and canary on the mirrored requests, and the newest mismatch samples. `--json`
// prints the API's ShadowReport unchanged. A route with no mirrors yet prints "no shadow
// data yet" and exits 0; an unknown route is the API's 404, exit 1.
import { parseArgs } from "node:util";
import type { ShadowReport } from "../../src/core/admin-protocol.js";
import { RouteSchema } from "../../src/core/config/schema.js";
import type { ShadowOutcomeKind } from "../../src/core/shadow/shadow-outcome.js";
import { ADMIN_HELP, EXIT_OK, UsageError, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { ago, count, isoShort, ms, percent, renderTable } from "./table.js";

const usage = "shadow <route> [--json] [--url <url>] [--token <token>]";
const summary = "Show a route's shadow comparison: mirrors per outcome, mismatch rate, paired latency, newest mismatches.";

const OUTCOMES: ReadonlyArray<readonly [ShadowOutcomeKind, string]> = [
  ["match", "match"],
  ["mismatch", "mismatch"],
  ["canary_error", "canary error"],
  ["canary_timeout", "canary timeout"],
  ["skipped", "skipped (body over maxBodyBytes)"],
];

/** A status as a sample shows it: 0 means no response came. */
const statusCell = (s: number): string => (s === 0 ? "none" : String(s));

/** The latency table's title: which pairs it is on (reference pairs are sent together, the fair comparison). */
function latencyTitle(l: ShadowReport["latency"]): string {
  if (l.source === "reference") return `latency, ${count(l.pairs ?? 0)} reference pairs`;
  if (l.source === "user") return "latency vs users' requests";
  return "paired latency";
}

/** Mirrors with any outcome. */
export const mirroredCount = (r: ShadowReport): number => OUTCOMES.reduce((n, [k]) => n + (r.outcomes[k] ?? 0), 0);

export function renderShadow(r: ShadowReport, now: number): string {
  const total = mirroredCount(r);
  const head = `${r.route}: release ${r.release ?? "-"}, ${r.stage ? `stage ${r.stage}` : "not in a shadow stage now"}\n`;
  if (total === 0 && r.samples.length === 0) return `${head}no shadow data yet (no mirrored request compared for this release)\n`;
  const outcomes = renderTable(
    ["outcome", "mirrors"],
    OUTCOMES.map(([k, label]) => [label, count(r.outcomes[k] ?? 0)]),
  );
  const compared = (r.outcomes.match ?? 0) + (r.outcomes.mismatch ?? 0) + (r.outcomes.skipped ?? 0);
  const rate = `mismatch rate ${percent(r.mismatchRate)} (${count(r.outcomes.mismatch ?? 0)} of ${count(compared)} compared; canary errors and timeouts count apart, as errors)\n`;
  const latency = renderTable(
    [latencyTitle(r.latency), "p50 ms", "p99 ms"],
    (["stable", "canary"] as const).map((v) => [v, ms(r.latency[v].p50), ms(r.latency[v].p99)]),
  );
  const parts = [head, outcomes, rate, "\n", latency];
  if (r.samples.length === 0) parts.push("\nno mismatches\n");
  else {
    parts.push(`\nNewest mismatches (${r.samples.length}, newest first):\n`);
    parts.push(
      renderTable(
        ["time", "", "method", "path", "part", "stable", "canary", "detail"],
        r.samples.map((m) => [isoShort(m.at), ago(m.at, now), m.method, m.path, m.part, statusCell(m.stableStatus), statusCell(m.canaryStatus), oneLine(m.detail)]),
        { right: new Set([5, 6]) },
      ),
    );
  }
  return parts.join("");
}

/** A detail on one table line: control characters (a newline from a body) become spaces. */
const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, " ");

export const shadowCommand: Command = {
  name: "shadow",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals, help } = parse(
      () => parseArgs({ args, options: { ...helpOption, ...adminOptions, json: { type: "boolean" } }, allowPositionals: true }),
      { min: 1, max: 1, names: "<route>" },
    );
    if (help) {
      io.out(helpText(usage, summary, `Options:\n  --json  print the API's JSON (ShadowReport) unchanged\n\n${ADMIN_HELP}\n\nExit codes: 0 shown (also when there is no shadow data yet), 1 API error (e.g. 404 unknown route), 2 usage error.`));
      return EXIT_OK;
    }
    const route = positionals[0]!;
    if (!RouteSchema.shape.id.safeParse(route).success) throw new UsageError(`"${route}" is not a valid route id`);
    const report = await adminCall<ShadowReport>(io, adminTarget(values, io.env), "GET", `/routes/${encodeURIComponent(route)}/shadow`);
    if (values.json) printJson(io, report);
    else io.out(renderShadow(report, Date.now()));
    return EXIT_OK;
  },
};
