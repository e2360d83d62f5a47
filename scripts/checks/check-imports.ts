// Checks the direction of imports in src/ (ARCHITECTURE.md "Layers"): no import circle,
// src/core imports only src/core (and pure npm packages such as zod: no `cloudflare:`
// or `node:` module, no adapter), and src/coordinator never imports src/edge. Run by
// `npm test` through `npm run check:imports`; exits 1 and names every offending import.
// The parser reads only static `import ... from "x"`, `import "x"` and
// `export ... from "x"` statements (type-only ones included: a type circle is still a
// circle for the reader). Given up: dynamic `import()` and specifiers built at run time.
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** One import statement: the importing file, the specifier, and the file it resolves to (undefined: a package or runtime module). */
export interface ImportEdge {
  from: string;
  specifier: string;
  to: string | undefined;
}

// A statement start (file start, newline or `;`), then the import clause: identifiers,
// braces, commas, `*`, `as`, `type`; never `=` or a quote, so `export const x = "y"`
// does not match.
const STATEMENT = /(?:^|[\n;])[ \t]*(?:import|export)\s+(?:type\s+)?(?:[\w\s{},*$]*?\bfrom\s*)?["']([^"'\n]+)["']/g;

/** The specifiers a module imports or re-exports, in source order. */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(STATEMENT)].map((m) => m[1]!);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

/** `./x.js` -> `x.ts` (TypeScript's ESM convention), `./dir` -> `dir/index.ts`. */
function resolveRelative(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base, base.replace(/\.(js|mjs)$/, ".ts"), `${base}.ts`, join(base, "index.ts")];
  return candidates.find((c) => files.has(c)) ?? base;
}

/** Every import edge of the files under `srcDir`. */
export function importGraph(srcDir: string): ImportEdge[] {
  const files = sourceFiles(srcDir);
  const known = new Set(files);
  return files.flatMap((from) =>
    importSpecifiers(readFileSync(from, "utf8")).map((specifier) => ({
      from,
      specifier,
      to: specifier.startsWith(".") ? resolveRelative(from, specifier, known) : undefined,
    })),
  );
}

/** Each import circle once, as the list of files around it (first file repeated at the end). */
export function importCircles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (e.to) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const circles: string[][] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (file: string): void => {
    const at = onPath.indexOf(file);
    if (at !== -1) {
      circles.push([...onPath.slice(at), file]);
      return;
    }
    if (done.has(file)) return;
    onPath.push(file);
    for (const to of next.get(file) ?? []) visit(to);
    onPath.pop();
    done.add(file);
  };
  for (const file of [...next.keys()].sort()) visit(file);
  return circles;
}

const within = (file: string, dir: string): boolean => file === dir || file.startsWith(dir + sep);

/** What is wrong with the imports under `srcDir`, one message per problem; empty when all is well. */
export function checkImports(srcDir: string): string[] {
  const root = resolve(srcDir);
  const edges = importGraph(root);
  const name = (file: string): string => relative(dirname(root), file).split(sep).join("/");
  const core = join(root, "core");
  const coordinator = join(root, "coordinator");
  const edge = join(root, "edge");
  const problems: string[] = [];
  for (const e of edges) {
    const what = `${name(e.from)} imports "${e.specifier}"`;
    if (within(e.from, core)) {
      if (e.to !== undefined && !within(e.to, core)) problems.push(`${what}: src/core imports only src/core`);
      if (e.to === undefined && /^(cloudflare|node):/.test(e.specifier)) problems.push(`${what}: src/core is pure (no runtime modules)`);
    }
    if (within(e.from, coordinator) && e.to !== undefined && within(e.to, edge)) {
      problems.push(`${what}: src/coordinator must not import src/edge`);
    }
  }
  for (const circle of importCircles(edges)) problems.push(`import circle: ${circle.map(name).join(" -> ")}`);
  return problems;
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  const srcDir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "../../src");
  const problems = checkImports(srcDir);
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log(`imports in ${relative(process.cwd(), srcDir) || "."} follow the layers: no circle, core pure, coordinator independent of edge`);
}
