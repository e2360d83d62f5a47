// Builds the config's JSON Schema from the zod schema the Worker validates with, so
// editors complete and check the same document. `io: "input"` describes what a person
// writes (fields with defaults are optional), not the parsed result. Draft-07 is the
// draft VS Code and JetBrains editors support fully. What JSON Schema cannot express is
// dropped ("unrepresentable: any"): refine() checks (URL shape, 0.01 steps, strictly
// increasing steps, duplicate ids) are still enforced by `validate` and the Worker.
import { z } from "zod";
import { ConfigSchema } from "../../src/core/config/schema.js";

export const SCHEMA_FILE = "schema/edge-canary.config.schema.json";

/** zod names startsWith a "starts_with" format, which is not a JSON Schema format; its pattern says the same. */
function dropNonStandardFormats(node: unknown): void {
  if (Array.isArray(node)) node.forEach(dropNonStandardFormats);
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o.format === "starts_with" && typeof o.pattern === "string") delete o.format;
    Object.values(o).forEach(dropNonStandardFormats);
  }
}

export function buildJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ConfigSchema, { io: "input", target: "draft-7", unrepresentable: "any" }) as Record<string, unknown>;
  dropNonStandardFormats(generated);
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: "edge-canary config",
    description: "The KV document (binding CANARY_CONFIG, key \"config\") that edge-canary reads. Generated from src/core/config/schema.ts by scripts/checks/gen-schema.ts; do not edit by hand.",
    ...rest,
  };
}

/** The file's exact text: stable key order, 2-space indent, trailing newline. */
export function jsonSchemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
