// `schema`: prints the config's JSON Schema, or writes it with --out. The committed
// copy (schema/edge-canary.config.schema.json) is written by scripts/checks/gen-schema.ts.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { EXIT_OK, helpOption, helpText, parse, type CliIo, type Command } from "./common.js";
import { jsonSchemaText } from "./json-schema.js";

const usage = "schema [--out <file>]";
const summary = "Print the config's JSON Schema (generated from the zod schema the Worker uses).";

export const schemaCommand: Command = {
  name: "schema",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, help } = parse(() => parseArgs({ args, options: { ...helpOption, out: { type: "string", short: "o" } }, allowPositionals: true }), { min: 0, max: 0 });
    if (help) {
      io.out(helpText(usage, summary, `Options:\n  --out <file>  write to this file instead of stdout\n\nEditors: put "$schema": "./schema/edge-canary.config.schema.json" (a path relative to the config file) at the top of a config.`));
      return EXIT_OK;
    }
    const text = jsonSchemaText();
    if (values.out) {
      await writeFile(resolve(io.cwd, values.out), text);
      io.out(`wrote ${values.out} (${text.length} bytes)\n`);
    } else io.out(text);
    return EXIT_OK;
  },
};
