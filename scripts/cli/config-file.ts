// Checks a config file exactly as the Worker will: `validateConfig` decides and words
// every message; the same schema's issue paths (in the same order, one message per
// issue) are mapped to line:column in the file. A syntax error is reported at its
// position too. Duplicate keys, which the Worker only logs, are errors here, at the
// repeated key. With a `lookup`, origin and webhook hostnames are also resolved
// (resolve-origins.ts). Used by `validate` and, before anything is written, by `push`.
import { readFile } from "node:fs/promises";
import { boundText, duplicateKeyMessage, formatPath, unknownFieldMessage, validateConfig } from "../../src/core/config/parse.js";
import { ConfigSchema, type Config } from "../../src/core/config/schema.js";
import { CliError } from "./common.js";
import { JsonLocator, JsonSyntaxError, positionOf } from "./json-locator.js";
import { resolveBlockedOrigins, type HostLookup } from "./resolve-origins.js";

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

  const problems: ConfigProblem[] = locator.duplicates.map((d) => {
    const first = positionOf(text, d.firstOffset);
    return {
      ...positionOf(text, d.offset),
      path: boundText(formatPath(d.path)),
      message: `${duplicateKeyMessage(d.path)} (first at ${first.line}:${first.column})`,
    };
  });
  const result = validateConfig(value, { adminBase });
  if (result.ok) return problems.length ? { ok: false, file, problems } : { ok: true, file, text, config: result.value };

  const issues = ConfigSchema.safeParse(value, { reportInput: true }).error?.issues ?? [];
  result.error.forEach((message, i) => {
    const issue = issues.length === result.error.length ? issues[i] : undefined;
    if (!issue) {
      problems.push({ path: pathFromMessage(message), line: null, column: null, message });
      return;
    }
    if (issue.code === "unrecognized_keys") {
      // One message names several keys; give each its own line at the key itself.
      for (const key of issue.keys) {
        const pos = locator.locate([...issue.path, key]);
        problems.push({ path: boundText(formatPath([...issue.path, key])), line: pos.line, column: pos.column, message: unknownFieldMessage(issue.path, key) });
      }
      return;
    }
    const pos = locator.locate(issue.path);
    problems.push({ path: formatPath(issue.path), line: pos.line, column: pos.column, message });
  });
  return { ok: false, file, problems };
}

/**
 * checkConfigText, then (given a lookup, and only for a valid file) the DNS check of
 * origins. `adminBase` is the Worker's own admin URL: an origin there would loop.
 */
export async function checkConfigFile(file: string, opts: { lookup?: HostLookup; adminBase?: string } = {}): Promise<ConfigCheck> {
  const text = await readConfigFile(file);
  const check = checkConfigText(file, text, opts.adminBase);
  if (!check.ok || !opts.lookup) return check;
  const resolved = await resolveBlockedOrigins(check.config, opts.lookup);
  if (resolved.length === 0) return check;
  const locator = new JsonLocator(text);
  return {
    ok: false,
    file,
    problems: resolved.map((r) => {
      const { line, column } = locator.locate(r.path);
      return { path: formatPath(r.path), line, column, message: `${formatPath(r.path)} ${r.message}` };
    }),
  };
}

/** Fallback when issues and messages cannot be paired: the message starts with the path. */
function pathFromMessage(message: string): string {
  return /^([\w$]+(?:\.[\w$-]+|\[\d+\])*) /.exec(message)?.[1] ?? "config";
}

/** `file:line:col: message`, the form editors and terminals turn into links. */
export function formatProblem(p: ConfigProblem, file: string): string {
  return p.line === null ? `${file}: ${p.message}` : `${file}:${p.line}:${p.column}: ${p.message}`;
}
