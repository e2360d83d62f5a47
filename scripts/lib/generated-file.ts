// A generated, committed file: written by its generator, or with --check compared with a
// fresh generation (CI fails when someone changed the source and forgot to regenerate).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** `relative` is the file's path from the repository root; `regenerate` the command that rewrites it. */
export function writeOrCheck(relative: string, text: string, regenerate: string, check = process.argv.includes("--check")): void {
  const file = join(root, relative);
  if (check) {
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${relative} is stale: run ${regenerate}`);
      process.exit(1);
    }
    console.log(`${relative} is up to date`);
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${relative} (${text.length} bytes)`);
}
