// Paired shadow traffic for the engine's unit tests: per second, mirrored requests whose
// stable and canary answers come from the same request (correlated latency), recorded
// into Evidence.shadow exactly as the edge records them (recordShadowOutcome), in 10 s
// stored windows; the engine is driven as the coordinator drives it (updateRollout, then
// decideRollout every second).
import { emptyEvidence, recordOutcome, type Evidence } from "../../src/core/evidence.js";
import { emptyShadow, recordShadowOutcome } from "../../src/core/shadow/shadow-evidence.js";
import type { ShadowOutcome, ShadowOutcomeKind } from "../../src/core/shadow/shadow-outcome.js";
import type { Guardrails } from "../../src/core/stats/guardrails.js";
import { normal, type Random } from "../../src/core/stats/prng.js";
import { decideRollout, type RolloutDecision } from "../../src/core/stats/rollout-engine.js";
import { updateRollout, type RolloutMemo, type StoredWindow } from "../../src/core/stats/rollout-evidence.js";

export interface PairedTraffic {
  /** Mirrored requests per second. */
  mirrors: number;
  /** Stable requests per second on the live arm (all users are on stable in a shadow stage). */
  stableRate?: number;
  /** Failure probability of each side (independent per request). */
  fail: [number, number];
  /** Canary latency = stable x exp(shift + noise): ln factor, and the sd of the per-request noise. */
  latencyShift?: number;
  latencyNoise?: number;
  /** Probability that a compared pair mismatches. */
  mismatch?: number;
  /** Mismatches only from these identities (each of their mirrors mismatches), e.g. 3 broken accounts. */
  mismatchIds?: number[];
  /** Identity of a mirror: distinct by default. */
  identity?: (i: number) => number;
  /** Share of mirrors sent with a simultaneous stable reference (shadow.latencyPairs; default 1). */
  referenceShare?: number;
  /** shadow.latencyTolerance (default 1.1, the config's). */
  latencyTolerance?: number;
}

const MU = Math.log(60);
const SIGMA = 0.7;

/** One second of paired traffic into `e`; `base` numbers the identities. */
export function pairedSecond(random: Random, e: Evidence, tr: PairedTraffic, base: number): void {
  const sh = (e.shadow ??= emptyShadow());
  for (let i = 0; i < (tr.stableRate ?? 100); i++) recordOutcome(e, "stable", false, Math.exp(MU + SIGMA * normal(random)));
  for (let i = 0; i < tr.mirrors; i++) {
    const id = tr.identity ? tr.identity(base + i) : base + i;
    // The stable reference request (sent with the mirror) is timed as stable's time on the
    // request; the draw for it is made only below share 1, so the seeds' streams are as before.
    const stableMs = Math.exp(MU + SIGMA * normal(random));
    const canaryMs = stableMs * Math.exp((tr.latencyShift ?? 0) + (tr.latencyNoise ?? 0.2) * normal(random));
    const refMs = stableMs;
    const referenced = (tr.referenceShare ?? 1) >= 1 || random() < (tr.referenceShare ?? 1);
    const stableFailed = random() < tr.fail[0];
    const canaryFailed = random() < tr.fail[1];
    const mismatched = tr.mismatchIds ? tr.mismatchIds.includes(id) : random() < (tr.mismatch ?? 0);
    // A pair where only stable failed is not a mismatch here: the error test judges failures.
    const kind: ShadowOutcomeKind = canaryFailed ? "canary_error" : mismatched && !stableFailed ? "mismatch" : "match";
    const o: ShadowOutcome = {
      routeId: "r",
      release: "r1",
      method: "GET",
      path: "/api",
      kind,
      ...(kind === "mismatch" ? { part: "json" as const, detail: "$.price" } : {}),
      stableStatus: stableFailed ? 500 : 200,
      canaryStatus: canaryFailed ? 500 : 200,
      stableMs,
      canaryMs,
      ...(referenced ? { reference: { status: 200, ms: refMs } } : {}),
      colo: "AMS",
      country: "NL",
    };
    recordShadowOutcome(sh, o, stableFailed, canaryFailed, () => id >>> 0, tr.latencyTolerance ?? 1.1);
  }
}

export interface ShadowRun {
  decision: RolloutDecision;
  at: number;
  /** Seconds at which the engine first said advance (the stage would have advanced), null if never. */
  advancedAt: number | null;
  failedAt: number | null;
}

/**
 * A shadow stage (index 0 of the plan [shadow 10%, 5%]) judged every second for up to
 * `seconds`; stops at the first fail, and at the first advance unless `keepGoing`.
 */
export function runShadowStage(
  random: Random,
  tr: PairedTraffic,
  g: Guardrails,
  seconds: number,
  opts: { maxMismatchRate?: number; minDurationMs?: number; minRequests?: number; keepGoing?: boolean } = {},
): ShadowRun {
  const windows: StoredWindow[] = [];
  let memo: RolloutMemo | undefined;
  let last: RolloutDecision | undefined;
  let advancedAt: number | null = null;
  const r0 = opts.maxMismatchRate ?? 0.01;
  for (let t = 1; t <= seconds; t++) {
    const start = Math.floor((t - 1) / 10) * 10_000;
    let w = windows.at(-1);
    if (!w || w.start !== start) windows.push((w = { start, step: 0, evidence: emptyEvidence() }));
    pairedSecond(random, w.evidence, tr, t * 100_000);
    const now = t * 1000;
    const engine = updateRollout(memo, "k", { windows, weights: [0, 5], kinds: ["shadow", "live"], maxMismatchRate: r0, guardrails: g, now, currentStep: 0 });
    memo = engine.memo;
    last = decideRollout({
      now,
      stepStartedAt: 0,
      stepIndex: 0,
      weight: 0,
      minDurationMs: opts.minDurationMs ?? 60_000,
      minRequests: opts.minRequests ?? 200,
      open: engine.open,
      latencySource: engine.latencySource,
      guardrails: g,
      state: engine.state,
      stage: "shadow 10%",
      shadow: { maxMismatchRate: r0, latencyPairs: tr.referenceShare ?? 1 },
      shadowPlan: true,
    });
    if (last.action === "fail") return { decision: last, at: t, advancedAt, failedAt: t };
    if (last.action === "advance") {
      advancedAt ??= t;
      if (!opts.keepGoing) return { decision: last, at: t, advancedAt, failedAt: null };
    }
  }
  return { decision: last!, at: seconds, advancedAt, failedAt: null };
}
