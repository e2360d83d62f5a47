// The demo's KV config document: one route `www` in front of the two local origins.
// Every document is validated with the Worker's own parser before it goes to KV, so
// a mistake shows up here with a field path instead of as a Worker 503.
import { writeFile } from "node:fs/promises";
import { parseConfig } from "../../src/core/config/parse.js";
import type { Config, ConfigInput } from "../../src/core/config/schema.js";

export const DEMO_ROUTE = "www";
export const DEMO_RELEASE = "demo-1";

export function demoConfig(stableUrl: string, canaryUrl: string, weight: number, release = DEMO_RELEASE): ConfigInput {
  return {
    version: 1,
    routes: [
      {
        id: DEMO_ROUTE,
        match: { hosts: [], pathPrefix: "/" },
        stable: { origin: stableUrl, timeoutMs: 5_000 },
        canary: { origin: canaryUrl, timeoutMs: 5_000 },
        release,
        weight,
      },
    ],
  };
}

/** Same document with the demo route's weight changed. */
export function withWeight(config: ConfigInput, weight: number, routeId = DEMO_ROUTE): ConfigInput {
  return { ...config, routes: config.routes.map((r) => (r.id === routeId ? { ...r, weight } : r)) };
}

/** Validates and writes the document; returns the parsed config (defaults applied). */
export async function writeConfigFile(file: string, config: ConfigInput): Promise<Config> {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new Error(`demo config is invalid:\n  ${parsed.error.join("\n  ")}`);
  await writeFile(file, text);
  return parsed.value;
}

export function routeOf(config: Config, routeId = DEMO_ROUTE): Config["routes"][number] {
  const route = config.routes.find((r) => r.id === routeId);
  if (!route) throw new Error(`config has no route "${routeId}"`);
  return route;
}
