// Per-user metric statistics, the unit of analysis being the user: each user of an arm
// contributes one value per metric, and the arm's moments over users are what the engine
// tests. What a user's value is depends on the metric's kind:
//   conversion:    1 if the user had the event at all, else 0 (every exposed user counts);
//   mean:          the mean of the user's values (only users with a value count);
//   rate-per-user: the number of events the user had (every exposed user counts).
import type { MetricConfig } from "../config/schema.js";

/** A user's events of one metric: how many, and the sum of their values. */
export type UserMetric = readonly [count: number, sum: number];

/** Moments over users of one arm and metric: n users, the sum of their values and of their squares. */
export interface MomentStats {
  n: number;
  sum: number;
  sumSq: number;
}

export const emptyMoments = (): MomentStats => ({ n: 0, sum: 0, sumSq: 0 });

/** A user's value for a metric kind; undefined: the user is not in the denominator (a mean without values). */
export function userValue(kind: MetricConfig["kind"], m: UserMetric | undefined): number | undefined {
  const count = m?.[0] ?? 0;
  switch (kind) {
    case "conversion":
      return count > 0 ? 1 : 0;
    case "rate-per-user":
      return count;
    case "mean":
      return count > 0 ? m![1] / count : undefined;
  }
}

/** One metric of a rollout as the engine reads it: its definition and both arms' moments. */
export interface MetricInput {
  def: MetricConfig;
  stable: MomentStats;
  canary: MomentStats;
}

/**
 * The engine's verdict on one metric, for the explanation, status and the dashboard:
 * both arms' means over users, the canary's relative difference from stable and its
 * interval (the sequential test's, at the metric's alpha), and whether it fails.
 */
export interface MetricVerdict {
  name: string;
  kind: MetricConfig["kind"];
  mode: MetricConfig["mode"];
  better: MetricConfig["better"];
  /** Tolerated relative change in the bad direction (maxRelativeDrop or maxRelativeIncrease). */
  tolerance: number;
  stable: { users: number; mean: number | null };
  canary: { users: number; mean: number | null };
  /** canary mean / stable mean - 1; null before both arms have users (or a stable mean of 0). */
  relativeDifference: number | null;
  /** Interval of the relative difference; null while it is unbounded. */
  interval: { low: number; high: number } | null;
  /** The evidence shows the canary worse than tolerated (a guardrail then fails the rollout; observe only shows it). */
  rejects: boolean;
}

/** The tolerated relative change in the bad direction: the field matching `better`, else 5%. */
export const metricTolerance = (def: MetricConfig): number => (def.better === "higher" ? def.maxRelativeDrop : def.maxRelativeIncrease) ?? 0.05;
