// One line per route of a validated config: what `push` reports it wrote and what
// `validate` prints on success. Reads the parsed Config, so defaults are applied.
import type { Config } from "../../src/core/config/schema.js";
import { exposureAt, planOf, stageLabel } from "../../src/core/rollout/plan.js";

export interface RouteSummary {
  id: string;
  release: string;
  mode: "steps" | "manual";
  /**
   * Canary weight of everyone at each stage, as the rollout state keeps it (plan.ts
   * exposureAt: 0 in a shadow stage, the share so far in a ring stage); manual mode: the one weight.
   */
  weights: number[];
  /** Every stage as a label ("shadow 10%", "staff 100%", "5%"). */
  stages: string[];
  hosts: string[];
  pathPrefix: string;
}

export function summarizeRoutes(config: Config): RouteSummary[] {
  return config.routes.map((r) => ({
    id: r.id,
    release: r.release,
    mode: r.steps ? "steps" : "manual",
    weights: planOf(r).map((_, i) => exposureAt(planOf(r), i).everyone),
    stages: planOf(r).map(stageLabel),
    hosts: [...r.match.hosts],
    pathPrefix: r.match.pathPrefix,
  }));
}

/** "shadow 10% > staff 100% > 5% > 100%" for steps, "10%" for manual. */
export const weightsText = (s: RouteSummary): string => s.stages.join(" > ");

export const matchText = (s: RouteSummary): string => `${s.hosts.length ? s.hosts.join(",") : "*"}${s.pathPrefix}`;
