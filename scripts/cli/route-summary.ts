// One line per route of a validated config: what `push` reports it wrote and what
// `validate` prints on success. Reads the parsed Config, so defaults are applied.
import type { Config } from "../../src/core/config/schema.js";

export interface RouteSummary {
  id: string;
  release: string;
  mode: "steps" | "manual";
  /** Steps mode: every step's weight; manual mode: the one weight. */
  weights: number[];
  hosts: string[];
  pathPrefix: string;
}

export function summarizeRoutes(config: Config): RouteSummary[] {
  return config.routes.map((r) => ({
    id: r.id,
    release: r.release,
    mode: r.steps ? "steps" : "manual",
    weights: r.steps ? [...r.steps.weights] : [r.weight],
    hosts: [...r.match.hosts],
    pathPrefix: r.match.pathPrefix,
  }));
}

/** "1 > 5 > 25 > 50 > 100 %" for steps, "10 %" for manual. */
export const weightsText = (s: RouteSummary): string => `${s.weights.join(" > ")} %`;

export const matchText = (s: RouteSummary): string => `${s.hosts.length ? s.hosts.join(",") : "*"}${s.pathPrefix}`;
