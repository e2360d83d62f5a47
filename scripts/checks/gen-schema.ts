// Writes schema/edge-canary.config.schema.json from the zod config schema:
// `npx tsx scripts/checks/gen-schema.ts`. With --check it writes nothing and exits 1 when the
// committed file differs from a fresh generation (for CI; a unit test checks the same).
import { SCHEMA_FILE, jsonSchemaText } from "../cli/json-schema.js";
import { writeOrCheck } from "../lib/generated-file.js";

writeOrCheck(SCHEMA_FILE, jsonSchemaText(), "npx tsx scripts/checks/gen-schema.ts");
