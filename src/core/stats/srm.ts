// Sample-ratio mismatch: does the canary's observed request share match the configured
// weight? A mismatch means the comparison itself is broken (requests lost or duplicated
// on one side, a routing bug, retries hitting one arm), so the engine never advances
// on it and says so. A chi-square test (1 df) with a small alpha flags it, and only
// when the share is also off by more than a relative tolerance: heavy users pinned to
// one cohort make a real split wobble by a few percent, which says nothing about the
// release. The test is re-run every look, so alpha is per look, not per step.

export interface SrmResult {
  /** False when the weight leaves nothing to compare (0 or 100%) or there is no traffic. */
  checked: boolean;
  expectedShare: number;
  observedShare: number;
  /** observed / expected - 1 */
  deviation: number;
  chiSquare: number;
  pValue: number;
  mismatch: boolean;
}

/** Complementary error function (Numerical Recipes erfcc, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function checkSampleRatio(
  canaryRequests: number,
  stableRequests: number,
  weightPercent: number,
  alpha: number,
  tolerance: number,
): SrmResult {
  const total = canaryRequests + stableRequests;
  const expectedShare = weightPercent / 100;
  const observedShare = total > 0 ? canaryRequests / total : 0;
  if (total === 0 || !(expectedShare > 0 && expectedShare < 1)) {
    return { checked: false, expectedShare, observedShare, deviation: 0, chiSquare: 0, pValue: 1, mismatch: false };
  }
  const expected = total * expectedShare;
  const chiSquare = (canaryRequests - expected) ** 2 / (expected * (1 - expectedShare));
  const pValue = erfc(Math.sqrt(chiSquare / 2));
  const deviation = observedShare / expectedShare - 1;
  return {
    checked: true,
    expectedShare,
    observedShare,
    deviation,
    chiSquare,
    pValue,
    mismatch: pValue < alpha && Math.abs(deviation) > tolerance,
  };
}
