// scripts/checks/check-imports.ts on tiny source trees written to a temp directory: one with
// an import circle and layer violations, one that follows the layers.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkImports, importSpecifiers } from "../../scripts/checks/check-imports.js";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** Writes `files` (path under src/ -> source) and returns the src directory. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "check-imports-"));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, "src", path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return join(root, "src");
}

describe("importSpecifiers", () => {
  it.each([
    ['import { a } from "./a.js";', ["./a.js"]],
    ['import type { A, B } from "../b.js"', ["../b.js"]],
    ['import * as z from "zod";\nimport "./side.js";', ["zod", "./side.js"]],
    ['export { x } from "./x.js";\nexport * from "./y.js";\nexport type { T } from "./t.js";', ["./x.js", "./y.js", "./t.js"]],
    ['import {\n  a,\n  type B,\n} from "./multi.js";', ["./multi.js"]],
    ['export const url = "./not-an-import.js";\nconst s = `import x from "./in-a-string.js"`;', []],
    ['// import { gone } from "./commented.js"\n', []],
  ])("%s", (source, expected) => {
    expect(importSpecifiers(source)).toEqual(expected);
  });
});

describe("checkImports", () => {
  it("names an import circle, a core import of an adapter or runtime module, and coordinator -> edge", () => {
    const src = tree({
      "core/a.ts": 'import { b } from "./b.js";\nexport const a = 1;',
      "core/b.ts": 'import { c } from "./c.js";\nexport const b = 2;',
      "core/c.ts": 'import type { A } from "./a.js";\nimport { kv } from "../edge/kv.js";\nimport { DurableObject } from "cloudflare:workers";\nexport const c = 3;',
      "edge/kv.ts": "export const kv = 1;",
      "coordinator/do.ts": 'import { kv } from "../edge/kv.js";\nimport { a } from "../core/a.js";',
    });
    expect(checkImports(src)).toEqual([
      'src/coordinator/do.ts imports "../edge/kv.js": src/coordinator must not import src/edge',
      'src/core/c.ts imports "../edge/kv.js": src/core imports only src/core',
      'src/core/c.ts imports "cloudflare:workers": src/core is pure (no runtime modules)',
      "import circle: src/core/a.ts -> src/core/b.ts -> src/core/c.ts -> src/core/a.ts",
    ]);
  });

  it("passes a tree that follows the layers (packages in core are fine)", () => {
    const src = tree({
      "core/config.ts": 'import * as z from "zod";\nexport const s = z.string();',
      "core/rollout/state.ts": 'export type { S } from "../config.js";',
      "edge/handle.ts": 'import { s } from "../core/config.js";',
      "coordinator/do.ts": 'import { DurableObject } from "cloudflare:workers";\nimport { s } from "../core/config.js";',
      "index.ts": 'import "./edge/handle.js";\nexport { x } from "./coordinator/do.js";',
    });
    expect(checkImports(src)).toEqual([]);
  });
});
