// A fully defaulted RouteConfig for unit tests, built through the real validator so
// defaults are exactly what the Worker applies.
import { validateConfig } from "../../src/core/config/parse.js";
import type { ConfigInput, RouteConfig } from "../../src/core/config/schema.js";

export type RouteInput = Partial<ConfigInput["routes"][number]>;

export function routeConfig(overrides: RouteInput = {}): RouteConfig {
  const parsed = validateConfig({
    version: 1,
    routes: [
      {
        id: "shop",
        stable: { origin: "https://stable.example" },
        canary: { origin: "https://canary.example" },
        release: "r1",
        ...overrides,
      },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.error.join("\n"));
  return parsed.value.routes[0]!;
}
