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
// it; the tolerances absorb small differences, and a plan that gives the ring a stable
// share (percent <= 50) compares like with like.

export type RingBaseline = "ring" | "all";

export const RING_BASELINE_MAX_PERCENT = 50;

/** The baseline of a ring the canary serves at `percentServed` (the higher of its percent and everyone's). */
export function ringBaseline(percentServed: number): RingBaseline {
  return percentServed <= RING_BASELINE_MAX_PERCENT ? "ring" : "all";
}

/** The baseline in words, for reasons and the audit log. */
export function baselineText(b: RingBaseline, percentServed: number): string {
  return b === "ring"
    ? `baseline: the ring's own stable users (served at ${percentServed}%)`
    : percentServed >= 100
      ? "baseline: all stable users (the ring is served at 100%: no stable users of its own)"
      : `baseline: all stable users (the ring is served at ${percentServed}%: too few stable users of its own)`;
}
