// Status's per-metric numbers when the engine gives none (before it judges metrics, or
// while the rollout is not being judged): both arms' per-user means and the relative
// difference, without an interval and never rejecting. The engine's verdicts, when it has
// them, replace these (they carry the interval and the decision).
import { metricTolerance, type MetricInput, type MetricVerdict } from "../core/metrics/metric-stats.js";

export function plainVerdict(m: MetricInput): MetricVerdict {
  const mean = (n: number, sum: number): number | null => (n > 0 ? sum / n : null);
  const stable = mean(m.stable.n, m.stable.sum);
  const canary = mean(m.canary.n, m.canary.sum);
  return {
    name: m.def.name,
    kind: m.def.kind,
    mode: m.def.mode,
    better: m.def.better,
    tolerance: metricTolerance(m.def),
    stable: { users: m.stable.n, mean: stable },
    canary: { users: m.canary.n, mean: canary },
    relativeDifference: stable !== null && canary !== null && stable !== 0 ? canary / stable - 1 : null,
    interval: null,
    rejects: false,
  };
}
