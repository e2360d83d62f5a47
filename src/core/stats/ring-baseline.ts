// What a ring's canary requests are compared with (issue: evidence per ring). A ring's
// own stable users are the comparable traffic (staff with staff, New Zealand with New
// Zealand); they exist only while the canary serves part of the ring. The choice is made
// from the plan alone, never from the data: a ring served at most RING_BASELINE_MAX_PERCENT
// has at least as many stable users as canary ones in expectation and is compared with
// them; a ring served more (up to 100%, where it has no stable users at all) is compared
// with every stable user of the route (Evidence.stable totals). Fixed before any event, so
// the test stays valid, and status can say which baseline a ring has before its traffic.
//
// The limit, stated: against "all", a ring whose traffic differs by nature from everyone's
// (a continent's latency, staff's error rate) is compared with traffic that is not like
// it; allBaselineTolerance absorbs differences up to its factor (and hides regressions
// below it), and a plan that gives the ring a stable share (percent <= 50) compares like
// with like at the configured tolerances.

export type RingBaseline = "ring" | "all";

/**
 * Against "all", a ring's canary is held to guardrails.allBaselineTolerance (T, default
 * 1) times the metric's tolerance. Applied as a share: theta(s, T m) = theta(s', m) with
 * s' = sT / (sT + 1 - s), so the ledger, its alternatives and its budget are unchanged.
 * The trade, measured (bench:decisions --rings, results/decision-sim-rings.md): at T = 1
 * a 3x error regression confined to a 10% ring at 100% is caught in about 15 s (1000
 * req/s), but an identical canary on a staff ring whose base error rate is 2x everyone's
 * is rolled back in every run; at T = 2 that staff ring is rolled back in 0.2% of runs,
 * the 3x regression takes about 90 s, and a 2x one is not caught by its ring.
 */
export function widenShare(s: number, tolerance: number): number {
  return s > 0 && s < 1 ? (s * tolerance) / (s * tolerance + 1 - s) : s;
}

export const RING_BASELINE_MAX_PERCENT = 50;

/** The baseline of a ring the canary serves at `percentServed` (the higher of its percent and everyone's). */
export function ringBaseline(percentServed: number): RingBaseline {
  return percentServed <= RING_BASELINE_MAX_PERCENT ? "ring" : "all";
}

/** The baseline in words, for reasons and the audit log. */
export function baselineText(b: RingBaseline, percentServed: number, allTolerance = 1): string {
  if (b === "ring") return `baseline: the ring's own stable users (served at ${percentServed}%)`;
  const held = allTolerance > 1 ? `; held to ${allTolerance}x the tolerances` : "";
  return percentServed >= 100
    ? `baseline: all stable users (the ring is served at 100%: no stable users of its own${held})`
    : `baseline: all stable users (the ring is served at ${percentServed}%: too few stable users of its own${held})`;
}
