// Parses the KV config document into the complete Config type (defaults applied) or a
// list of messages that each name the offending field, e.g.
// `routes[1].canary.origin must be an absolute http(s) URL without query or fragment`.
// Every message is bounded (a 2 MB unknown key must not make a 2 MB log line), and
// duplicate keys come back as warnings beside the result: the document still means
// what JSON.parse says it means.
import type { z } from "zod";
import { err, ok, type Result } from "../result.js";
import { findDuplicateKeys } from "./json-duplicates.js";
import { ConfigSchema, type Config } from "./schema.js";

/** Longest message kept whole; longer ones are cut and say by how much. */
export const MAX_MESSAGE_CHARS = 300;

/** Cuts `text` at `max` characters (never inside a surrogate pair) and says how much went. */
export function boundText(text: string, max = MAX_MESSAGE_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}... [${text.length - end} more characters cut]`;
}

/** Parsed document plus what is worth a warning but does not reject it. */
export type ParsedConfig = Result<Config, string[]> & { warnings: string[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "config" : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  // Messages written in the schema ("must be between 0 and 100") beat generic ones.
  if (/^(must|is) /.test(issue.message)) return `${where} ${issue.message}`;
  switch (issue.code) {
    case "invalid_type":
      // Needs `reportInput` (see validateConfig): without it zod strips `input` from
      // every issue and a wrong type would read as a missing field.
      return issue.input === undefined ? `${where} is required` : `${where} must be ${article(issue.expected)}`;
    case "unrecognized_keys":
      return issue.keys.map((k) => unknownFieldMessage(issue.path, k)).join("; ");
    case "too_small":
      return issue.origin === "array"
        ? `${where} must have at least ${items(issue.minimum)}`
        : issue.origin === "string"
          ? `${where} must not be empty`
          : `${where} must be ${issue.inclusive === false ? ">" : ">="} ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `${where} must have at most ${items(issue.maximum)}`
        : issue.origin === "string"
          ? `${where} must be at most ${issue.maximum} characters`
          : `${where} must be ${issue.inclusive === false ? "<" : "<="} ${issue.maximum}`;
    case "invalid_value":
      if (issue.input === undefined) return `${where} is required`;
      return `${where} must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue && typeof issue.pattern === "string"
        ? `${where} must match ${issue.pattern}`
        : `${where} must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `${where} must be a multiple of ${issue.divisor}`;
    default:
      return `${where} ${issue.message}`;
  }
}

/** The message for one unknown key, its name bounded on its own so the path stays readable. */
export function unknownFieldMessage(path: ReadonlyArray<PropertyKey>, key: string): string {
  return `${boundText(formatPath([...path, key]), MAX_MESSAGE_CHARS - 100)} is not a known field`;
}

function items(n: number | bigint): string {
  return `${n} item${n === 1 ? "" : "s"}`;
}

function article(expected: string): string {
  if (expected === "array") return "an array";
  if (expected === "object") return "an object";
  if (expected === "int") return "an integer";
  return `a ${expected}`;
}

export interface ValidateOptions {
  /** The Worker's own admin base (e.g. https://shop.example/__canary): an origin on the
   *  same scheme, host and port would send requests back through edge-canary (a loop). */
  adminBase?: string;
}

/** Validates an already-decoded JSON value. */
export function validateConfig(value: unknown, opts: ValidateOptions = {}): Result<Config, string[]> {
  const parsed = ConfigSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) return err(parsed.error.issues.map((issue) => boundText(describeIssue(issue))));
  const loops = opts.adminBase ? selfOrigins(parsed.data, opts.adminBase) : [];
  return loops.length ? err(loops) : ok(parsed.data);
}

/** Messages for origins that are the Worker itself. */
function selfOrigins(config: Config, adminBase: string): string[] {
  let self: string;
  try {
    self = new URL(adminBase).origin;
  } catch {
    return [];
  }
  const out: string[] = [];
  config.routes.forEach((route, i) => {
    for (const side of ["stable", "canary"] as const) {
      if (new URL(route[side].origin).origin === self) out.push(`routes[${i}].${side}.origin must not be edge-canary itself (${self}, the admin base): requests would loop`);
    }
  });
  return out;
}

/** Decodes and validates the KV document text; duplicate keys are warnings. */
export function parseConfig(text: string, opts: ValidateOptions = {}): ParsedConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ...err([boundText(`config is not valid JSON: ${(e as Error).message}`)]), warnings: [] };
  }
  const warnings = findDuplicateKeys(text).map((d) => duplicateKeyMessage(d.path));
  return { ...validateConfig(value, opts), warnings };
}

/** `routes[0].weight appears more than once in its object; the last one is used`. */
export function duplicateKeyMessage(path: ReadonlyArray<PropertyKey>): string {
  return `${boundText(formatPath(path), MAX_MESSAGE_CHARS - 100)} appears more than once in its object; the last one is used`;
}
