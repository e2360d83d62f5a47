// `validate <file>`: the Worker's own validator over a config file, each error with
// the field and its line:column. Exit 1 when the file is invalid.
import { parseArgs } from "node:util";
import { EXIT_FAILURE, EXIT_OK, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { checkConfigFile, formatProblem } from "./config-file.js";
import { matchText, summarizeRoutes, weightsText } from "./route-summary.js";
import { renderTable } from "./table.js";

const usage = "validate <file> [--json]";
const summary = "Check a config file with the same validator the Worker runs.";

export const validateCommand: Command = {
  name: "validate",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals, help } = parse(
      () => parseArgs({ args, options: { ...helpOption, json: { type: "boolean" } }, allowPositionals: true }),
      { min: 1, max: 1, names: "<file>" },
    );
    if (help) {
      io.out(helpText(usage, summary, "Options:\n  --json  machine-readable result: {ok, file, routes} or {ok, file, errors: [{path, line, column, message}]}\n\nDuplicate keys are errors (the Worker only warns). Origin and webhook hostnames are resolved:\none that resolves to a link-local or cloud metadata address is an error.\n\nExit codes: 0 valid, 1 invalid or unreadable, 2 usage error."));
      return EXIT_OK;
    }
    const file = positionals[0]!;
    const check = await checkConfigFile(file, { lookup: io.lookup, adminBase: io.env.CANARY_URL });
    if (values.json) {
      printJson(io, check.ok ? { ok: true, file, routes: summarizeRoutes(check.config) } : { ok: false, file, errors: check.problems });
      return check.ok ? EXIT_OK : EXIT_FAILURE;
    }
    if (!check.ok) {
      for (const p of check.problems) io.err(`${formatProblem(p, file)}\n`);
      io.err(`${file}: ${check.problems.length} error${check.problems.length === 1 ? "" : "s"}\n`);
      return EXIT_FAILURE;
    }
    const routes = summarizeRoutes(check.config);
    io.out(`${file}: valid, ${routes.length} route${routes.length === 1 ? "" : "s"}\n`);
    io.out(renderTable(["route", "release", "mode", "stages", "match"], routes.map((r) => [r.id, r.release, r.mode, weightsText(r), matchText(r)])));
    return EXIT_OK;
  },
};
