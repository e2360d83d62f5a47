// The words of a decision: the one-line reason the audit log, the dashboard and the
// webhook show for hold, advance and rollback, built from the Explanation's numbers.
// Kept apart from the tests themselves so wording changes never touch the statistics.
import type { Explanation, TestSummary } from "./decision-types.js";
import type { HoldReason } from "./hold-reasons.js";

const round = (x: number, digits: number): string => {
  const scale = 10 ** digits;
  return String(Math.round(x * scale) / scale);
};
const pct = (x: number): string => {
  const v = x * 100;
  return `${round(v, v >= 10 ? 0 : v >= 1 ? 1 : 2)}%`;
};
const times = (m: number | null): string => (m === null ? "n/a" : `${round(m, 1)}x`);
/** A likelihood ratio to two significant digits, from its log. */
const odds = (logRatio: number): string => {
  const v = Math.exp(logRatio);
  if (v >= 1e6 || v < 1e-4) {
    let exponent = Math.floor(logRatio / Math.LN10);
    let mantissa = Math.round(Math.exp(logRatio - exponent * Math.LN10) * 10) / 10;
    if (mantissa >= 10) {
      mantissa = 1;
      exponent++;
    }
    return `${mantissa}e${exponent}`;
  }
  return v >= 100 ? round(v, 0) : round(v, Math.max(0, 1 - Math.floor(Math.log10(v))));
};
const quantileLabel = (q: number): string => `p${+(q * 100).toFixed(1)}`;
const msLabel = (x: number | null): string => (x === null ? "n/a" : `${round(x, x >= 10 ? 0 : 2)} ms`);

function describeTest(what: string, t: TestSummary): string {
  const spread = t.dispersion > 1.005 ? `, dispersion ${t.dispersion.toFixed(1)}` : "";
  return (
    `${what} ${pct(t.observedShare)} vs expected ${pct(t.expectedShare)} (ratio ${times(t.ratio)}), ` +
    `mSPRT ${odds(t.logRatio)} >= ${odds(t.rejectAt)} (alpha ${t.alpha}${spread})`
  );
}

export function describeRollback(e: Explanation): string {
  const parts: string[] = [];
  if (e.errors.rejects) parts.push(describeTest("canary error share", e.errors));
  if (e.latency.rejects) {
    parts.push(describeTest(`canary share of requests slower than ${msLabel(e.latencyThresholdMs)} (stable ${quantileLabel(e.latencyQuantile)})`, e.latency));
  }
  if (e.burn.trips) {
    const { window: w, subWindow: s } = e.burn;
    parts.push(
      `canary burns the error budget ${w.burn.toFixed(1)}x (stable ${w.stableBurn.toFixed(1)}x, excess >= ${w.excessBurn.toFixed(1)}x) ` +
        `over the step and ${s.burn.toFixed(1)}x over the last ${Math.round(e.burn.subWindowMs / 1000)} s; breaker at ${e.burn.threshold}x`,
    );
  }
  return `rollback: ${parts.join("; ")}`;
}

/** The words of each hold reason (decided by hold-reasons.ts), with the numbers behind it. */
export function describeHold(e: Explanation, reasons: readonly HoldReason[]): string[] {
  const need = odds(e.errors.advanceAt);
  return reasons.map((reason) => {
    switch (reason) {
      case "min-duration":
        return `step ran ${Math.floor(e.elapsedMs / 1000)} of ${Math.ceil(e.minDurationMs / 1000)} s`;
      case "min-requests":
        return `${e.canary.requests} of ${e.minRequests} canary requests`;
      case "sample-ratio":
        return `sample-ratio mismatch: canary share ${pct(e.srm.observedShare)} vs weight ${pct(e.srm.expectedShare)} (p ${e.srm.pValue.toExponential(1)})`;
      case "no-stable-traffic":
        return "no stable traffic to compare with";
      case "errors-unbounded":
        return `errors not yet bounded (mSPRT ${odds(e.errors.logRatio)}, advances at <= ${need})`;
      case "latency-calibrating":
        return "latency threshold still calibrating on stable traffic";
      case "latency-unbounded":
        return `latency not yet bounded (mSPRT ${odds(e.latency.logRatio)}, advances at <= ${need})`;
    }
  });
}

export function describeAdvance(e: Explanation): string {
  const base = `advance: ${Math.round(e.elapsedMs / 1000)} s and ${e.canary.requests} canary requests`;
  if (e.weight >= 100) return `${base}; no stable arm at weight 100, only the burn-rate breaker guards this step`;
  const errors = e.errors.bounded
    ? `errors bounded (mSPRT ${odds(e.errors.logRatio)} <= ${odds(e.errors.advanceAt)}, ratio ${times(e.errors.ratio)})`
    : `canary error rate below ${pct(e.canaryErrorUpperBound)}, within the SLO`;
  const latency =
    e.latency.status === "off"
      ? "latency not measured"
      : !e.latency.bounded
        ? `canary ${quantileLabel(e.latencyQuantile)} at or below the ${msLabel(e.latencyThresholdMs)} threshold (slower share below ${pct(e.canarySlowUpperBound)})`
        : `latency bounded (mSPRT ${odds(e.latency.logRatio)} <= ${odds(e.latency.advanceAt)}, ratio ${times(e.latency.ratio)})`;
  return `${base}; ${errors}; ${latency}`;
}
