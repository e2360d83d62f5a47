// `query <name>`: runs one of the named Analytics Engine queries (scripts/cli/queries.ts)
// through the SQL API and prints the result as a table, or as JSON rows with --json.
// Needs an account id and an API token with Account Analytics Read; without them it
// says so and exits 1 rather than guessing. `--sql` prints the query without running it.
import { parseArgs } from "node:util";
import { QUERIES, QueryInputError, findQuery } from "./queries.js";
import { DEFAULT_API_BASE, isNumericType, runAeSql, type AeSqlResult } from "./ae-sql.js";
import { CliError, EXIT_OK, UsageError, helpOption, helpText, parse, parseDuration, printJson, type CliIo, type Command } from "./common.js";
import { count, ms, percent, renderTable, type Cell } from "./table.js";

const usage = "query <name> [--since 1h] [--route <id>] [--json] [--sql]";
const summary = "Run a named Analytics Engine query (sampling-weighted) and print the result.";

function cell(name: string, type: string, v: string | number | null): Cell {
  if (v === null) return null;
  if (typeof v === "number" && name === "error_rate") return percent(v);
  if (typeof v === "number" && name.endsWith("_ms")) return ms(v);
  if (typeof v === "number" && isNumericType(type)) return Number.isInteger(v) ? count(v) : v.toFixed(3);
  return v;
}

export function renderAeResult(r: AeSqlResult): string {
  if (r.data.length === 0) return "no rows (no data points in the window?)\n";
  const table = renderTable(
    r.meta.map((c) => c.name),
    r.data.map((row) => r.meta.map((c) => cell(c.name, c.type, row[c.name] ?? null))),
  );
  const more = r.rowsBeforeLimitAtLeast !== undefined && r.rowsBeforeLimitAtLeast > r.rows ? `(${r.rows} of at least ${r.rowsBeforeLimitAtLeast} rows)\n` : "";
  return table + more;
}

export const queryCommand: Command = {
  name: "query",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals, help } = parse(
      () =>
        parseArgs({
          args,
          options: {
            ...helpOption,
            since: { type: "string", short: "s" },
            route: { type: "string", short: "r" },
            json: { type: "boolean" },
            sql: { type: "boolean" },
            "account-id": { type: "string" },
            "api-token": { type: "string" },
            "api-base": { type: "string" },
          },
          allowPositionals: true,
        }),
      { min: 1, max: 1, names: `<name> (one of ${QUERIES.map((q) => q.name).join(", ")})` },
    );
    if (help) {
      const names = QUERIES.map((q) => `  ${q.name.padEnd(9)} ${q.description}`).join("\n");
      io.out(
        helpText(
          usage,
          summary,
          `Queries (dataset edge_canary; counts are SUM(_sample_interval), latencies quantileExactWeighted over double1):\n${names}\n\nOptions:\n  --since <d>          window: 30m, 1h, 7d (default 1h, at most 92d)\n  --route <id>         only this route\n  --json               rows as JSON\n  --sql                print the SQL and exit, nothing is sent\n  --account-id <id>    Cloudflare account id (env CLOUDFLARE_ACCOUNT_ID)\n  --api-token <token>  API token with Account Analytics Read (env CLOUDFLARE_API_TOKEN)\n  --api-base <url>     API origin (default ${DEFAULT_API_BASE})`,
        ),
      );
      return EXIT_OK;
    }
    const def = findQuery(positionals[0]!);
    if (!def) throw new UsageError(`unknown query "${positionals[0]}"; one of: ${QUERIES.map((q) => q.name).join(", ")}`);
    let sql: string;
    try {
      sql = def.sql({ sinceSec: parseDuration(values.since ?? "1h", "--since"), route: values.route });
    } catch (e) {
      if (e instanceof QueryInputError) throw new UsageError(e.message);
      throw e;
    }
    if (values.sql) {
      io.out(`${sql}\n`);
      return EXIT_OK;
    }
    const accountId = values["account-id"] ?? io.env.CLOUDFLARE_ACCOUNT_ID;
    const apiToken = values["api-token"] ?? io.env.CLOUDFLARE_API_TOKEN;
    if (!accountId || !apiToken) {
      throw new CliError(
        `no Cloudflare credentials: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token with Account Analytics Read), or pass --account-id and --api-token; --sql prints the query without running it`,
      );
    }
    if (!/^[A-Za-z0-9]{1,64}$/.test(accountId)) throw new UsageError("--account-id must be the 32-character account id");
    const result = await runAeSql(io, { apiBase: values["api-base"] ?? DEFAULT_API_BASE, accountId, apiToken }, sql);
    if (values.json) printJson(io, { query: def.name, rows: result.data, meta: result.meta });
    else io.out(renderAeResult(result));
    return EXIT_OK;
  },
};
