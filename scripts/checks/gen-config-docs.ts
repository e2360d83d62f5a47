// Generates the config reference in docs/configuration.md (every field, type, default, description)
// from the same JSON Schema the validator produces, so the docs cannot drift from the
// code. Writes between its markers <!-- config-reference:start/end -->.
//   npx tsx scripts/checks/gen-config-docs.ts           rewrite docs/configuration.md
//   npx tsx scripts/checks/gen-config-docs.ts --check   exit 1 if docs/configuration.md is stale
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildJsonSchema } from "../cli/json-schema.js";
import { repoRoot } from "../lib/local-worker.js";

interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  anyOf?: Node[];
  pattern?: string;
}

const START = "<!-- config-reference:start -->";
const END = "<!-- config-reference:end -->";

function typeOf(n: Node): string {
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum) return n.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  const t = Array.isArray(n.type) ? n.type.join(" \\| ") : (n.type ?? "any");
  if (t === "array" && n.items) return `${typeOf(n.items)}[]`;
  const range: string[] = [];
  const lo = n.minimum ?? n.exclusiveMinimum;
  const hi = n.maximum ?? n.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined && hi < 1e15) range.push(`${lo}..${hi}`);
  else if (lo !== undefined) range.push(`>= ${lo}`);
  return range.length ? `${t} (${range.join(", ")})` : t;
}

function defaultOf(n: Node, required: boolean): string {
  if (n.default !== undefined) {
    // An object's defaults are its fields' (the schema's `.prefault({})` fills them in).
    if (n.default !== null && typeof n.default === "object" && !Array.isArray(n.default)) return "(object, see fields)";
    const d = JSON.stringify(n.default);
    return d.length > 40 ? "(object, see fields)" : `\`${d}\``;
  }
  return required ? "**required**" : "optional";
}

function rows(n: Node, path: string, required: boolean, out: string[]): void {
  if (path) {
    const desc = (n.description ?? "").replace(/\|/g, "\\|").replace(/\s*Default\s.*?\.(?=\s|$)/g, "").trim();
    out.push(`| \`${path}\` | ${typeOf(n)} | ${defaultOf(n, required)} | ${desc} |`);
  }
  const obj = n.type === "object" ? n : n.type === "array" && n.items?.type === "object" ? n.items : undefined;
  if (!obj?.properties) return;
  const prefix = n.type === "array" ? `${path}[]` : path;
  for (const [key, child] of Object.entries(obj.properties)) {
    if (key === "$schema") continue;
    rows(child, prefix ? `${prefix}.${key}` : key, obj.required?.includes(key) ?? false, out);
  }
}

export function configReference(): string {
  const schema = buildJsonSchema() as Node;
  const out = ["| field | type | default | meaning |", "|---|---|---|---|"];
  rows(schema, "", true, out);
  return out.join("\n");
}

const readmePath = join(repoRoot, "docs", "configuration.md");
const readme = readFileSync(readmePath, "utf8");
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  console.error(`docs/configuration.md has no ${START} ... ${END} markers`);
  process.exit(1);
}
const next = `${readme.slice(0, start + START.length)}\n${configReference()}\n${readme.slice(end)}`;
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error("docs/configuration.md config reference is stale: run npx tsx scripts/checks/gen-config-docs.ts");
    process.exit(1);
  }
  console.log("docs/configuration.md config reference is up to date");
} else {
  writeFileSync(readmePath, next);
  console.log("docs/configuration.md config reference written");
}
