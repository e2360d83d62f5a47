// Guardrails: the per-route knobs of the decision engine, one zod schema that is the
// type, the validator and the documented defaults. Every field has a default so a route
// with no guardrails block gets the tested behaviour; the defaults bound the false-failure
// probability of a whole rollout by alpha = 1% (see docs/decision-engine.md).
import * as z from "zod";

const DEFAULTS = {
  alpha: 0.01,
  errorAlphaShare: 0.8,
  errorRatioTolerance: 1,
  latencyQuantile: 0.99,
  latencyRatioTolerance: 1.1,
  advanceFactor: 10,
  minDispersion: 1,
  errorOn5xx: true,
  errorOnFailure: true,
  sloErrorRate: 0.001,
  burnRateThreshold: 14.4,
  burnMinRequests: 50,
  srmAlpha: 0.001,
  srmTolerance: 0.1,
  medianQuantile: 0.5,
  medianRatioTolerance: 1.05,
  promotionOdds: 100,
  promotionRatios: [1.5, 2, 3, 5],
  stepTargetSec: 300,
  restartSec: 120,
  minFailedUsers: 5,
  allBaselineTolerance: 1,
  onFail: "rollback" as const,
  lowTraffic: { mode: "hold" as const, afterSec: 600, maxErrorRate: 0.02 },
};

export const GuardrailsSchema = z
  .strictObject({
    alpha: z
      .number()
      .gt(0)
      .max(0.2)
      .default(DEFAULTS.alpha)
      .describe("Total false-rollback budget per rollout (engine v2: every step and every restart share it), split between the error and latency tests by errorAlphaShare. Default 0.01."),
    errorAlphaShare: z
      .number()
      .gt(0)
      .lt(1)
      .default(DEFAULTS.errorAlphaShare)
      .describe("Share of alpha spent on the error test; the latency test gets the rest. Default 0.8."),
    errorRatioTolerance: z
      .number()
      .min(1)
      .max(10)
      .default(DEFAULTS.errorRatioTolerance)
      .describe("Canary/stable error-rate ratio that is tolerated, never rolled back for (m0). Default 1 (any regression); 1.1 ignores a 10% rise but takes about 1.5x as long to catch 2x."),
    latencyQuantile: z
      .number()
      .min(0.5)
      .max(0.999)
      .default(DEFAULTS.latencyQuantile)
      .describe("Stable latency quantile whose exceedances are compared, e.g. 0.95 or 0.99. Default 0.99."),
    latencyRatioTolerance: z
      .number()
      .min(1)
      .max(10)
      .default(DEFAULTS.latencyRatioTolerance)
      .describe("Tolerated canary/stable ratio of requests slower than that quantile. Default 1.1."),
    advanceFactor: z
      .number()
      .min(1)
      .max(1e6)
      .default(DEFAULTS.advanceFactor)
      .describe("Engine v1 only (v2 uses promotionOdds): advance once the data favour 'within tolerance' over the regression mixture this many times. Default 10."),
    minDispersion: z
      .number()
      .min(1)
      .max(100)
      .default(DEFAULTS.minDispersion)
      .describe("Engine v1 only (v2 counts failing identities, so retries need no correction): floor on the variance inflation applied to the tests. Default 1."),
    errorOn5xx: z.boolean().default(DEFAULTS.errorOn5xx).describe("Any 5xx response counts as an error. Default true."),
    errorStatuses: z
      .array(z.number().int().min(100).max(599))
      .max(100)
      .default(() => [])
      .describe("More statuses that count as errors, e.g. [429]. Default []."),
    errorOnFailure: z
      .boolean()
      .default(DEFAULTS.errorOnFailure)
      .describe("A network error or timeout reaching the origin counts as an error. Default true."),
    sloErrorRate: z
      .number()
      .gt(0)
      .max(0.5)
      .default(DEFAULTS.sloErrorRate)
      .describe("Error budget of the SLO as a rate (0.001 = 99.9%), the breaker's yardstick. Default 0.001."),
    burnRateThreshold: z
      .number()
      .min(1)
      .max(1000)
      .default(DEFAULTS.burnRateThreshold)
      .describe("Breaker: canary burn above stable, in budgets, on the step and its last 1/12. Default 14.4."),
    burnMinRequests: z
      .number()
      .int()
      .min(1)
      .default(DEFAULTS.burnMinRequests)
      .describe("Breaker: canary requests needed in the short window before it may trip. Default 100."),
    srmAlpha: z
      .number()
      .gt(0)
      .max(0.1)
      .default(DEFAULTS.srmAlpha)
      .describe("Sample-ratio mismatch: p-value below which the traffic split counts as broken. Default 0.001."),
    srmTolerance: z
      .number()
      .min(0)
      .max(1)
      .default(DEFAULTS.srmTolerance)
      .describe("Sample-ratio mismatch: relative share deviation that is ignored (0.1 = 5% +- 0.5%). Default 0.1."),
    medianQuantile: z
      .number()
      .min(0.05)
      .max(0.95)
      .nullable()
      .default(DEFAULTS.medianQuantile)
      .describe("Second latency quantile tested next to latencyQuantile (the body of the distribution, not only its tail); null turns it off. Default 0.5."),
    medianRatioTolerance: z
      .number()
      .min(1)
      .max(1.9)
      .default(DEFAULTS.medianRatioTolerance)
      .describe("Tolerated canary/stable ratio of requests slower than the stable medianQuantile. Default 1.05 (a +30% median shift is a ratio of about 1.3)."),
    promotionOdds: z
      .number()
      .min(2)
      .max(1e6)
      .default(DEFAULTS.promotionOdds)
      .describe("Promotion: the rollout's evidence must favour 'within tolerance' over the stated ratio this many times; a canary at that ratio or worse passes a gate with probability <= 1/promotionOdds per rollout. Default 100."),
    promotionRatios: z
      .array(z.number().gt(1).max(100))
      .min(1)
      .max(8)
      .refine((rs) => rs.every((r, i) => i === 0 || r > rs[i - 1]!), { error: "must be strictly increasing" })
      .default(() => [...DEFAULTS.promotionRatios])
      .describe("Ratios a step's promotion may be stated against, strongest first: the engine takes the smallest one the traffic can confirm within stepTargetSec. Default [1.5, 2, 3, 5]."),
    stepTargetSec: z
      .number()
      .min(10)
      .max(86_400)
      .default(DEFAULTS.stepTargetSec)
      .describe("Time a step should take to gather its promotion evidence; picks the promotion ratio. Default 300."),
    restartSec: z
      .number()
      .min(10)
      .max(86_400)
      .default(DEFAULTS.restartSec)
      .describe("The per-rollout test also restarts at every step and this often within a step, so late regressions are not diluted (the budget stays per rollout). Default 120."),
    minFailedUsers: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(DEFAULTS.minFailedUsers)
      .describe("Distinct canary identities with an error needed before the error test or the breaker may fail the canary. Default 5."),
    allBaselineTolerance: z
      .number()
      .min(1)
      .max(10)
      .default(DEFAULTS.allBaselineTolerance)
      .describe(
        "Ring stages: a ring served above 50% (at 100% it has no stable users of its own) is compared with all stable users, and held to this multiple of the error and latency tolerances. 1 is the most sensitive: a regression confined to the ring is judged like any other; but traffic unlike the ring's may differ from it by nature (staff fail more, a far continent is slower) and then an identical canary is rolled back. Raise it (e.g. 2) for such rings, at the cost of missing regressions below the factor, or give the ring a stable share (percent <= 50): it is then compared with its own stable users. Default 1.",
      ),
    onFail: z
      .enum(["rollback", "pause", "notify"])
      .default(DEFAULTS.onFail)
      .describe("What a failed test does: rollback, pause (hold exposure where it is and notify) or notify (advisory: the audit log and webhook say what the engine would have done, nothing is acted on). Default rollback."),
    lowTraffic: z
      .strictObject({
        mode: z.enum(["hold", "advance"]).default(DEFAULTS.lowTraffic.mode),
        afterSec: z.number().min(60).max(86_400).default(DEFAULTS.lowTraffic.afterSec),
        maxErrorRate: z.number().gt(0).max(0.5).default(DEFAULTS.lowTraffic.maxErrorRate),
      })
      .default(() => ({ ...DEFAULTS.lowTraffic }))
      .describe(
        "When traffic cannot confirm even the strongest promotion ratio within stepTargetSec: mode hold waits for evidence against the largest ratio (status shows what is missing and an ETA); mode advance also passes a step on time after afterSec when the canary's failing-user rate is below maxErrorRate at 95% (the audit entry states the weaker guarantee). Default { mode: hold, afterSec: 600, maxErrorRate: 0.02 }.",
      ),
  })
  .default(() => ({ ...DEFAULTS, errorStatuses: [], promotionRatios: [...DEFAULTS.promotionRatios], lowTraffic: { ...DEFAULTS.lowTraffic } }))
  .describe("Decision engine guardrails: the statistical tests that advance or roll back a step.");

export type Guardrails = z.output<typeof GuardrailsSchema>;
export type GuardrailsInput = z.input<typeof GuardrailsSchema>;

/** How an origin attempt ended: an HTTP status, or no response at all. */
export type OriginResult = number | "network" | "timeout";

/** Whether an outcome counts as an error under these guardrails. */
export function isErrorOutcome(g: Guardrails, outcome: OriginResult): boolean {
  if (outcome === "network" || outcome === "timeout") return g.errorOnFailure;
  return (g.errorOn5xx && outcome >= 500 && outcome <= 599) || g.errorStatuses.includes(outcome);
}
