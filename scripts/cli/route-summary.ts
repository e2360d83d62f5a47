// One line per route of a validated config: what `push` reports it wrote and what
// `validate` prints on success. Reads the parsed Config, so defaults are applied.
import type { Config } from "../../src/core/config/schema.js";
import { liveWeight, planOf, stageLabel } from "../../src/core/rollout/plan.js";

export interface RouteSummary {
  id: string;
  release: string;
  mode: "steps" | "manual";
  /** Live canary weight of each stage (0 in a shadow stage); manual mode: the one weight. */
  weights: number[];
  /** Every stage as a label ("shadow 10%", "5%"). */
  stages: string[];
  hosts: string[];
  pathPrefix: string;
}

export function summarizeRoutes(config: Config): RouteSummary[] {
  return config.routes.map((r) => ({
    id: r.id,
    release: r.release,
    mode: r.steps ? "steps" : "manual",
    weights: planOf(r).map(liveWeight),
    stages: planOf(r).map(stageLabel),
    hosts: [...r.match.hosts],
    pathPrefix: r.match.pathPrefix,
  }));
}

/** "shadow 10% > 1% > 5% > 100%" for steps, "10%" for manual. */
export const weightsText = (s: RouteSummary): string => s.stages.join(" > ");

export const matchText = (s: RouteSummary): string => `${s.hosts.length ? s.hosts.join(",") : "*"}${s.pathPrefix}`;
