// The shipped JSON Schema cannot drift from the zod schema (it must equal a fresh
// generation byte for byte), and the documented example configs are valid and point
// their editors at that schema.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import { planOf, stageLabel } from "../../src/core/rollout/plan.js";
import { SCHEMA_FILE, buildJsonSchema, jsonSchemaText } from "../../scripts/cli/json-schema.js";
import { ROOT, runCli } from "./cli-harness.js";

const EXAMPLE = join(ROOT, "examples/config.json");
const SHADOW_EXAMPLE = join(ROOT, "examples/shadow.json");

describe("buildJsonSchema", () => {
  it("equals the committed schema file (run `npx tsx scripts/checks/gen-schema.ts` after a schema change)", () => {
    expect(readFileSync(join(ROOT, SCHEMA_FILE), "utf8")).toBe(jsonSchemaText());
  });

  it("describes the input: defaulted fields are optional, objects are closed, the id pattern is kept", () => {
    const s = buildJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: { routes: { items: { required: string[]; properties: { id: { pattern: string } } } } };
    };
    expect(s.required.sort()).toEqual(["routes", "version"]);
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.routes.items.required.sort()).toEqual(["canary", "id", "release", "stable"]);
    expect(s.properties.routes.items.properties.id.pattern).toBe("^[a-z0-9][a-z0-9_-]{0,62}$");
    expect(JSON.stringify(s)).not.toContain("starts_with");
  });

  it("`schema` prints the same text", async () => {
    const r = await runCli(["schema"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(jsonSchemaText());
  });
});

describe("examples/config.json", () => {
  const text = readFileSync(EXAMPLE, "utf8");
  const value = JSON.parse(text) as { $schema: string };

  it("validates with the Worker's validator: one steps route, one manual route", () => {
    const result = validateConfig(value);
    if (!result.ok) throw new Error(result.error.join("\n"));
    expect(result.value.routes.map((r) => [r.id, r.steps ? "steps" : "manual"])).toEqual([
      ["shop", "steps"],
      ["api", "manual"],
    ]);
  });

  it("references the committed schema by a path relative to itself", () => {
    expect(value.$schema).toBe("../schema/edge-canary.config.schema.json");
    expect(existsSync(resolve(dirname(EXAMPLE), value.$schema))).toBe(true);
  });
});

describe("examples/shadow.json", () => {
  const text = readFileSync(SHADOW_EXAMPLE, "utf8");
  const value = JSON.parse(text) as { $schema: string };

  it("validates: a plan that starts with a shadow stage, compared as JSON (docs/shadow.md)", () => {
    const result = validateConfig(value);
    if (!result.ok) throw new Error(result.error.join("\n"));
    const route = result.value.routes[0]!;
    expect(planOf(route).map(stageLabel)).toEqual(["shadow 10%", "5%", "25%", "100%"]);
    expect(route.shadow).toMatchObject({ compare: "json", headers: ["content-type"], ignore: ["requestId", "generatedAt", "results.*.debug"], numericTolerance: 0.001, methods: ["GET", "HEAD"], maxMismatchRate: 0.01 });
  });

  it("references the committed schema by a path relative to itself", () => {
    expect(value.$schema).toBe("../schema/edge-canary.config.schema.json");
    expect(existsSync(resolve(dirname(SHADOW_EXAMPLE), value.$schema))).toBe(true);
  });
});
