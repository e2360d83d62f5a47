// Generates the config reference in docs/configuration.md (every field, type, default, description)
// from the same JSON Schema the validator produces, so the docs cannot drift from the
// code. Writes between its markers <!-- config-reference:start/end -->. A record (config.segments)
// is documented by its value under `<name>`; a union of objects (a plan's stages) by the
// fields of every alternative; an object that repeats the fields of one above it (a
// segment's all / any predicates) by a pointer to those rows rather than a second copy.
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
  additionalProperties?: Node | boolean;
  pattern?: string;
}

const START = "<!-- config-reference:start -->";
const END = "<!-- config-reference:end -->";

function typeOf(n: Node): string {
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum) return n.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (n.anyOf) return objectUnion(n) ? "object" : n.anyOf.map(typeOf).join(" \\| ");
  const t = Array.isArray(n.type) ? n.type.join(" \\| ") : (n.type ?? "any");
  if (t === "array" && n.items) {
    const item = typeOf(n.items);
    return item.includes(" \\| ") ? `(${item})[]` : `${item}[]`;
  }
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

/** A union whose every alternative is an object (a plan's stage: live or shadow). */
const objectUnion = (n: Node): boolean => (n.anyOf?.length ?? 0) > 0 && n.anyOf!.every((a) => a.type === "object");

/** The fields of an object, or of every alternative of a union of objects (required only where every alternative has it). */
function fieldsOf(n: Node | undefined): { properties: Record<string, Node>; required: string[] } | undefined {
  if (n === undefined) return undefined;
  if (n.type === "object" && n.properties) return { properties: n.properties, required: n.required ?? [] };
  if (!objectUnion(n)) return undefined;
  const properties: Record<string, Node> = {};
  for (const alt of n.anyOf!) {
    for (const [key, child] of Object.entries(alt.properties ?? {})) {
      // A field only one alternative requires, without a description of its own (a stage's
      // `shadow`), is that alternative: it takes the alternative's description.
      const own = child.description === undefined && alt.description !== undefined && alt.required?.includes(key) && n.anyOf!.every((b) => b === alt || !b.properties?.[key]);
      properties[key] = own ? { ...child, description: alt.description } : child;
    }
  }
  const required = Object.keys(properties).filter((k) => n.anyOf!.every((alt) => alt.required?.includes(k)));
  return { properties, required };
}

/** An object documented above, by its path and fields. */
interface Documented {
  path: string;
  properties: Record<string, Node>;
}

/** The object above whose fields include every one of `properties`, unchanged; undefined when there is none. */
function repeatOf(properties: Record<string, Node>, above: readonly Documented[]): Documented | undefined {
  const keys = Object.keys(properties);
  return above.find((d) => keys.length > 1 && keys.every((k) => d.properties[k] !== undefined && JSON.stringify(d.properties[k]) === JSON.stringify(properties[k])));
}

function rows(n: Node, path: string, required: boolean, out: string[], above: Documented[] = []): void {
  const arrayOf = n.type === "array" ? n.items : undefined;
  const record = n.type === "object" && !n.properties && typeof n.additionalProperties === "object" ? n.additionalProperties : undefined;
  const fields = fieldsOf(arrayOf ?? n);
  const repeat = fields && repeatOf(fields.properties, above);
  if (path) {
    let desc = (n.description ?? "").replace(/\|/g, "\\|").replace(/\s*Default\s.*?\.(?=\s|$)/g, "").trim();
    if (repeat) {
      const left = Object.keys(repeat.properties).filter((k) => fields.properties[k] === undefined);
      desc = `${desc} Each has the fields of \`${repeat.path}\` above${left.length ? ` except ${left.map((k) => `\`${k}\``).join(", ")}` : ""}.`.trim();
    }
    out.push(`| \`${path}\` | ${typeOf(n)} | ${defaultOf(n, required)} | ${desc} |`);
  }
  if (record) {
    rows(record, `${path}.<name>`, false, out, above);
    return;
  }
  if (!fields || repeat) return;
  const prefix = arrayOf ? `${path}[]` : path;
  const here = [...above, { path: prefix, properties: fields.properties }];
  for (const [key, child] of Object.entries(fields.properties)) {
    if (key === "$schema") continue;
    rows(child, prefix ? `${prefix}.${key}` : key, fields.required.includes(key), out, here);
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
