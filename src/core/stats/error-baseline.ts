// The stable arm's error counts per time window before a step began, for the burst
// correction (see DecisionInput.baselineStable). Rows of the same window start (a step
// or release change inside one window) are added up, so the sequence is one per window.
import type { Evidence } from "../evidence.js";

export interface StableCounts {
  requests: number;
  errors: number;
}

/** Buckets in ascending start order in, one count per distinct start out. */
export function stableErrorBaseline(windows: ReadonlyArray<{ start: number; evidence: Evidence }>): StableCounts[] {
  const out: StableCounts[] = [];
  let lastStart: number | undefined;
  for (const b of windows) {
    const { requests, errors } = b.evidence.stable;
    if (b.start === lastStart) {
      const last = out[out.length - 1]!;
      last.requests += requests;
      last.errors += errors;
    } else {
      out.push({ requests, errors });
      lastStart = b.start;
    }
  }
  return out;
}
