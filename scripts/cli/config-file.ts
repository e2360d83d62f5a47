// Checks a config file exactly as the Worker will: `validateConfig` decides and words
// every message; the same schema's issue paths (in the same order, one message per
// issue) are mapped to line:column in the file. A syntax error is reported at its
// position too. Used by `validate` and, before anything is written, by `push`.
import { readFile } from "node:fs/promises";
import { formatPath, validateConfig } from "../../src/core/config/parse.js";
import { ConfigSchema, type Config } from "../../src/core/config/schema.js";
import { CliError } from "./common.js";
import { JsonLocator, JsonSyntaxError, positionOf } from "./json-locator.js";

export interface ConfigProblem {
  /** Field path as the Worker names it (`routes[0].weight`), "config" for the root. */
  path: string;
  line: number | null;
  column: number | null;
  message: string;
}

export type ConfigCheck =
  | { ok: true; file: string; text: string; config: Config }
  | { ok: false; file: string; problems: ConfigProblem[] };

export async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `adminBase` (the CLI's --url / CANARY_URL) lets the check refuse origins that are the Worker itself. */
export function checkConfigText(file: string, text: string, adminBase?: string): ConfigCheck {
  let locator: JsonLocator;
  let value: unknown;
  try {
    value = JSON.parse(text);
    locator = new JsonLocator(text);
  } catch (e) {
    // Our scanner knows where the error is; JSON.parse's wording varies by Node version.
    let offset = 0;
    let detail = (e as Error).message;
    try {
      new JsonLocator(text);
    } catch (s) {
      if (s instanceof JsonSyntaxError) {
        offset = s.offset;
        detail = s.message;
      }
    }
    const { line, column } = positionOf(text, offset);
    return { ok: false, file, problems: [{ path: "config", line, column, message: `config is not valid JSON: ${detail}` }] };
  }

  const result = validateConfig(value, { adminBase });
  if (result.ok) return { ok: true, file, text, config: result.value };

  const issues = ConfigSchema.safeParse(value, { reportInput: true }).error?.issues ?? [];
  const problems: ConfigProblem[] = [];
  result.error.forEach((message, i) => {
    const issue = issues.length === result.error.length ? issues[i] : undefined;
    if (!issue) {
      problems.push({ path: pathFromMessage(message), line: null, column: null, message });
      return;
    }
    if (issue.code === "unrecognized_keys") {
      // One message names several keys; give each its own line at the key itself.
      const parts = message.split("; ");
      issue.keys.forEach((key, k) => {
        const pos = locator.locate([...issue.path, key]);
        problems.push({ path: formatPath([...issue.path, key]), line: pos.line, column: pos.column, message: parts[k] ?? message });
      });
      return;
    }
    const pos = locator.locate(issue.path);
    problems.push({ path: formatPath(issue.path), line: pos.line, column: pos.column, message });
  });
  return { ok: false, file, problems };
}

export async function checkConfigFile(file: string, adminBase?: string): Promise<ConfigCheck> {
  return checkConfigText(file, await readConfigFile(file), adminBase);
}

/** Fallback when issues and messages cannot be paired: the message starts with the path. */
function pathFromMessage(message: string): string {
  return /^([\w$]+(?:\.[\w$-]+|\[\d+\])*) /.exec(message)?.[1] ?? "config";
}

/** `file:line:col: message`, the form editors and terminals turn into links. */
export function formatProblem(p: ConfigProblem, file: string): string {
  return p.line === null ? `${file}: ${p.message}` : `${file}:${p.line}:${p.column}: ${p.message}`;
}
