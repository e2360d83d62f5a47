// `push <file>`: validates the config and only then writes it to the CANARY_CONFIG KV
// namespace under key "config" with `wrangler kv key put --path`. An invalid file is
// refused before wrangler runs, so a typo can never reach the edge. Defaults to --local
// (wrangler 4's own default too); writing to Cloudflare takes an explicit --remote.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { CONFIG_KEY } from "../../src/config/config-cache.js";
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError, firstLine, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { checkConfigFile, formatProblem } from "./config-file.js";
import { summarizeRoutes, weightsText } from "./route-summary.js";
import { renderTable } from "./table.js";
import { runWrangler, type WranglerRunner } from "./wrangler-runner.js";

/** KV binding the Worker reads the config from (wrangler.jsonc, README "KV keys"); the key is the Worker's CONFIG_KEY. */
export const CONFIG_BINDING = "CANARY_CONFIG";

const usage = "push <file> [--local | --remote] [--dry-run] [--config wrangler.jsonc] [--env name] [--persist-to dir]";
const summary = `Validate a config file, then write it to KV (binding ${CONFIG_BINDING}, key "${CONFIG_KEY}") with wrangler.`;
const help = `Options:
  --local             write to wrangler's local KV (default)
  --remote            write to the KV namespace on Cloudflare (needs wrangler login or CLOUDFLARE_API_TOKEN)
  --dry-run           validate and print the wrangler command, write nothing
  --config <file>     wrangler configuration file, passed through to wrangler
  --env <name>        wrangler environment, passed through
  --persist-to <dir>  local persistence directory, passed through (as used by wrangler dev --persist-to)
  --json              machine-readable report

Exit codes: 0 written, 1 invalid file or wrangler failed (nothing written), 2 usage error.`;

export function makePushCommand(runner: WranglerRunner = runWrangler): Command {
  return {
    name: "push",
    summary,
    usage,
    async run(args: string[], io: CliIo): Promise<number> {
      const { values, positionals, help: wantHelp } = parse(
        () =>
          parseArgs({
            args,
            options: {
              ...helpOption,
              local: { type: "boolean" },
              remote: { type: "boolean" },
              "dry-run": { type: "boolean" },
              config: { type: "string", short: "c" },
              env: { type: "string", short: "e" },
              "persist-to": { type: "string" },
              json: { type: "boolean" },
            },
            allowPositionals: true,
          }),
        { min: 1, max: 1, names: "<file>" },
      );
      if (wantHelp) {
        io.out(helpText(usage, summary, help));
        return EXIT_OK;
      }
      if (values.local && values.remote) throw new UsageError("--local and --remote exclude each other");
      if (values.remote && values["persist-to"]) throw new UsageError("--persist-to only applies to --local");
      const file = positionals[0]!;
      const target = values.remote ? "remote" : "local";

      const check = await checkConfigFile(file, { lookup: io.lookup, adminBase: io.env.CANARY_URL });
      if (!check.ok) {
        for (const p of check.problems) io.err(`${formatProblem(p, file)}\n`);
        io.err(`refusing to push ${file}: ${check.problems.length} error${check.problems.length === 1 ? "" : "s"}; nothing was written\n`);
        return EXIT_FAILURE;
      }

      const wranglerArgs = ["kv", "key", "put", "--binding", CONFIG_BINDING, CONFIG_KEY, "--path", resolve(io.cwd, file), `--${target}`];
      if (values.config) wranglerArgs.push("--config", values.config);
      if (values.env) wranglerArgs.push("--env", values.env);
      if (values["persist-to"]) wranglerArgs.push("--persist-to", values["persist-to"]);
      const routes = summarizeRoutes(check.config);
      const shown = `wrangler ${wranglerArgs.map((a) => (/^[\w./:=@-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}`;

      if (!values["dry-run"]) {
        const result = await runner(wranglerArgs, { cwd: io.cwd });
        if (result.code !== 0) {
          const why = firstLine(lastErrorLine(result.stderr) || lastErrorLine(result.stdout) || `exit code ${result.code}`);
          throw new CliError(`wrangler kv key put failed (exit ${result.code}): ${why}`);
        }
      }

      if (values.json) {
        printJson(io, { ok: true, dryRun: Boolean(values["dry-run"]), file, target, binding: CONFIG_BINDING, key: CONFIG_KEY, command: shown, routes });
        return EXIT_OK;
      }
      io.out(
        values["dry-run"]
          ? `${file} is valid. Dry run, nothing written. Would run:\n  ${shown}\n`
          : `Wrote ${file} to KV binding ${CONFIG_BINDING}, key "${CONFIG_KEY}" (${target}${target === "local" ? "; --remote writes to Cloudflare" : ""}).\n`,
      );
      io.out(renderTable(["route", "release", "mode", "stages"], routes.map((r) => [r.id, r.release, r.mode, weightsText(r)])));
      if (!values["dry-run"] && target === "remote") {
        io.out("KV is eventually consistent: edge locations may take 60 s or more to see the new config.\n");
      }
      return EXIT_OK;
    },
  };
}

/** wrangler prints a banner first; the useful part of a failure is its last non-empty line. */
function lastErrorLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.replace(/\u001b\[[0-9;]*m/g, "").trim())
    .filter((l) => l !== "" && !/^[─-]+$/.test(l));
  const marked = lines.find((l) => /^(✘|X |\[ERROR\])/.test(l));
  return marked ?? lines[lines.length - 1] ?? "";
}

export const pushCommand = makePushCommand();
