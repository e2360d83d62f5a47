// Writes schema/edge-canary.config.schema.json from the zod config schema:
// `npx tsx scripts/checks/gen-schema.ts`. With --check it writes nothing and exits 1 when the
// committed file differs from a fresh generation (for CI; a unit test checks the same).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SCHEMA_FILE, jsonSchemaText } from "../cli/json-schema.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const file = join(root, SCHEMA_FILE);
const text = jsonSchemaText();

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(`${SCHEMA_FILE} is stale: run npx tsx scripts/checks/gen-schema.ts`);
    process.exit(1);
  }
  console.log(`${SCHEMA_FILE} is up to date`);
} else {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${SCHEMA_FILE} (${text.length} bytes)`);
}
