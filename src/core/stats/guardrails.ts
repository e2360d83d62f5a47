// Guardrails: the per-route knobs of the decision engine, one zod schema that is the
// type, the validator and the documented defaults. Every field has a default so a route
// with no guardrails block gets the tested behaviour; the defaults trade detection speed
// for a false-rollback rate well under 1% (see docs/decision-engine.md).
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
};

export const GuardrailsSchema = z
  .strictObject({
    alpha: z
      .number()
      .gt(0)
      .max(0.2)
      .default(DEFAULTS.alpha)
      .describe("Total false-rollback budget per step, split between the error and latency tests by errorAlphaShare. Default 0.01."),
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
      .describe("Advance once the data favour 'within tolerance' over the regression mixture this many times. Default 10."),
    minDispersion: z
      .number()
      .min(1)
      .max(100)
      .default(DEFAULTS.minDispersion)
      .describe("Floor on the variance inflation applied to the tests; raise to the mean retry burst size. Default 1."),
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
      .describe("Breaker: canary requests needed in the short window before it may trip. Default 50."),
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
  })
  .default(() => ({ ...DEFAULTS, errorStatuses: [] }))
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
