// Decision-engine simulator: seeded per-second traffic for one canary step, the engine
// evaluated every second as the coordinator does, and rival rules on the same traffic.
// Counts are drawn, never simulated request by request: requests are Poisson per second
// and arm, errors and latency exceedances Binomial given the requests. The engine is
// driven through its counts layer (decideCounts). Exceedances are drawn as
// Binomial(N, P(X > edge)), where edge is the sketch bin edge countAbove uses; that is
// exactly the distribution countAbove returns over N lognormal samples, so no sketch has
// to be filled per second. The latency threshold itself comes from a real sketch fed with
// stable samples (up to 2,000 from "before the step", or the step's first windows in
// the derived mode). Given up: latency is independent of errors, and users are not
// modelled (sticky cohorts only enter through the bursty scenario).
//
//   npx tsx scripts/bench/decision-sim.ts [--runs N] [--detect-runs N] [--quick] [--only TEXT] [--workers N]
//                                         [--guardrails JSON]   (laid over every cell's own guardrails)
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { addValue, binUpperBound, emptySketch, quantile } from "../../src/core/stats/ddsketch.js";
import { decideCounts, type WindowCounts, type CountsInput } from "../../src/core/stats/decision-engine.js";
import { GuardrailsSchema, type Guardrails, type GuardrailsInput } from "../../src/core/stats/guardrails.js";
import { beta, binomial, createRandom, normal, poisson, seedFrom, type Random } from "../../src/core/stats/prng.js";
import { erfc } from "../../src/core/stats/srm.js";

const STEP_S = 600;
const BUCKET_S = 10;
const WEIGHT = 5;
const MIN_DURATION_MS = 60_000; // the config defaults for a step
const MIN_REQUESTS = 200;
/** Stable latency: lognormal, median 60 ms, sigma 0.7 (p99 about 306 ms). */
const MU = Math.log(60);
const SIGMA = 0.7;
const FLAGGER_MAX_P99_MS = 500;
const OVERDISPERSION_KAPPA = 500; // beta-binomial concentration per second and arm
const BURST_MEAN = 3; // errors per burst (a failure plus its retries, same user, same arm)
const WARMUP_SAMPLES = 2000;
const BASELINE_BUCKETS = 90; // 15 minutes of 10 s windows before the step, as the coordinator hands out
const INCIDENT_FROM_S = 180;
const INCIDENT_TO_S = 300;

type Mode = "iid" | "overdispersed" | "bursty" | "drift" | "incident";
type Method = "engine" | "flagger1" | "flagger5" | "ztest";
const METHODS: Method[] = ["engine", "flagger1", "flagger5", "ztest"];

interface Cell {
  id: string;
  kind: "aa" | "detect";
  label: string;
  rate: number;
  baseline: number;
  errorRatio: number;
  latencyFactor: number;
  mode: Mode;
  latency: "frozen" | "derived";
  guardrails?: GuardrailsInput;
  runs: number;
}

interface Outcome {
  /** First rollback second per method, null if none within the step. */
  at: Record<Method, number | null>;
  cause: string;
  advanceAt: number | null;
}

const aa = (rate: number, baseline: number, mode: Mode, runs: number, extra: Partial<Cell> = {}): Cell => ({
  id: `aa/${rate}/${baseline}/${mode}/${extra.latency ?? "frozen"}/${extra.guardrails ? JSON.stringify(extra.guardrails) : ""}`,
  kind: "aa",
  label: mode === "iid" ? "independent" : mode,
  rate,
  baseline,
  errorRatio: 1,
  latencyFactor: 1,
  mode,
  latency: "frozen",
  runs,
  ...extra,
});

const detect = (rate: number, baseline: number, errorRatio: number, latencyFactor: number, runs: number, extra: Partial<Cell> = {}): Cell => ({
  ...aa(rate, baseline, extra.mode ?? "iid", runs, extra),
  id: `detect/${rate}/${baseline}/${errorRatio}/${latencyFactor}/${extra.mode ?? "iid"}/${extra.latency ?? "frozen"}/${extra.guardrails ? JSON.stringify(extra.guardrails) : ""}`,
  kind: "detect",
  label: errorRatio !== 1 ? `errors ${errorRatio}x` : `p99 latency +${Math.round((latencyFactor - 1) * 100)}%`,
  errorRatio,
  latencyFactor,
});

function buildCells(aaRuns: number, detectRuns: number): Cell[] {
  const m0 = { errorRatioTolerance: 1.1 };
  const cells: Cell[] = [aa(10, 0.005, "iid", aaRuns)];
  for (const rate of [100, 1000, 10_000]) for (const b of [0.001, 0.005, 0.02]) cells.push(aa(rate, b, "iid", aaRuns));
  for (const mode of ["overdispersed", "bursty", "drift", "incident"] as const) cells.push(aa(1000, 0.005, mode, aaRuns));
  cells.push(aa(100, 0.005, "incident", aaRuns));
  cells.push(aa(1000, 0.005, "iid", aaRuns, { latency: "derived", label: "derived threshold" }));
  cells.push(aa(1000, 0.005, "iid", aaRuns, { guardrails: m0, label: "errorRatioTolerance 1.1" }));
  cells.push(aa(1000, 0.005, "bursty", aaRuns, { guardrails: { minDispersion: 3 }, label: "bursty, minDispersion 3" }));
  for (const r of [1.25, 1.5, 2, 5]) cells.push(detect(1000, 0.005, r, 1, detectRuns));
  for (const f of [1.1, 1.25, 1.5]) cells.push(detect(1000, 0.005, 1, f, detectRuns));
  for (const r of [2, 5]) cells.push(detect(1000, 0.001, r, 1, detectRuns));
  cells.push(detect(1000, 0.02, 2, 1, detectRuns));
  for (const [r, f] of [[2, 1], [5, 1], [1, 1.5]] as const) cells.push(detect(100, 0.005, r, f, detectRuns));
  for (const r of [1.25, 2]) cells.push(detect(10_000, 0.005, r, 1, detectRuns));
  cells.push({ ...detect(1000, 0.005, 2, 1, detectRuns, { mode: "bursty" }), label: "errors 2x, bursty" });
  cells.push({ ...detect(1000, 0.005, 2, 1, detectRuns, { mode: "bursty", guardrails: { minDispersion: 3 } }), label: "errors 2x, bursty, minDispersion 3" });
  cells.push({ ...detect(1000, 0.005, 1, 1.5, detectRuns, { latency: "derived" }), label: "p99 latency +50%, derived threshold" });
  for (const r of [2, 5]) cells.push({ ...detect(1000, 0.005, r, 1, detectRuns, { guardrails: m0 }), label: `errors ${r}x, errorRatioTolerance 1.1` });
  return cells;
}

// ---------------------------------------------------------------- traffic model

const normalCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);

/** Acklam's inverse normal CDF (relative error < 1.2e-9). */
function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

const latencySample = (random: Random, factor: number): number => factor * Math.exp(MU + SIGMA * normal(random));
/** P(factor * X > edge) for the lognormal X. */
const exceedance = (edge: number, factor: number): number => 1 - normalCdf((Math.log(edge / factor) - MU) / SIGMA);

interface Second {
  rate: number;
  p: [number, number];
  f: [number, number];
}

function second(cell: Cell, t: number): Second {
  let rate = cell.rate;
  let p = cell.baseline;
  let f = 1;
  if (cell.mode === "drift") {
    const x = t / STEP_S; // both arms: traffic +50%, errors x3, latency +30% over the step
    rate *= 1 + 0.5 * x;
    p *= 1 + 2 * x;
    f *= 1 + 0.3 * x;
  }
  if (cell.mode === "incident" && t > INCIDENT_FROM_S && t <= INCIDENT_TO_S) {
    p = Math.min(1, p * 10); // both arms: errors x10 and latency x2 for two minutes
    f *= 2;
  }
  return { rate, p: [p, Math.min(1, p * cell.errorRatio)], f: [f, f * cell.latencyFactor] };
}

function drawErrors(random: Random, mode: Mode, n: number, p: number): number {
  if (mode === "overdispersed") return binomial(random, n, beta(random, p * OVERDISPERSION_KAPPA, (1 - p) * OVERDISPERSION_KAPPA));
  if (mode !== "bursty") return binomial(random, n, p);
  const logStay = Math.log(1 - 1 / BURST_MEAN);
  let errors = 0;
  for (let k = poisson(random, (n * p) / BURST_MEAN); k > 0; k--) errors += 1 + Math.floor(Math.log(1 - random()) / logStay);
  return Math.min(n, errors);
}

function drawSlow(random: Random, mode: Mode, n: number, q: number): number {
  if (mode === "overdispersed") return binomial(random, n, beta(random, q * OVERDISPERSION_KAPPA, (1 - q) * OVERDISPERSION_KAPPA));
  return binomial(random, n, q);
}

/** The p99 of a minute of canary samples (Flagger's check), drawn through its order statistic. */
function windowP99(random: Random, counts: number[], factors: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  const k = Math.ceil(0.99 * n);
  const u = beta(random, k, n - k + 1);
  const f0 = factors[0]!;
  if (factors.every((f) => f === f0)) return f0 * Math.exp(MU + SIGMA * inverseNormal(u));
  let lo = MU + Math.log(Math.min(...factors)) - 8 * SIGMA;
  let hi = MU + Math.log(Math.max(...factors)) + 8 * SIGMA;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    let cdf = 0;
    for (let j = 0; j < counts.length; j++) cdf += counts[j]! * normalCdf((mid - Math.log(factors[j]!) - MU) / SIGMA);
    if (cdf / n < u) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

// ---------------------------------------------------------------- one run

const emptyWindow = (start: number): WindowCounts => ({
  start,
  stable: { requests: 0, errors: 0, timed: 0, slow: 0 },
  canary: { requests: 0, errors: 0, timed: 0, slow: 0 },
});

/**
 * The stable arm's error counts per 10 s window over the 15 minutes before the step
 * (DecisionInput.baselineStable), from their own random stream so the step's draws are
 * the same with or without them. Overdispersed errors are drawn per second, as in the step.
 */
function baselineStable(cell: Cell, run: number, share: number): { requests: number; errors: number }[] {
  const random = createRandom(seedFrom(`${cell.id}/baseline`, run));
  const s = second(cell, 0);
  const perSecond = s.rate * (1 - share);
  return Array.from({ length: BASELINE_BUCKETS }, () => {
    if (cell.mode !== "overdispersed") {
      const requests = poisson(random, perSecond * BUCKET_S);
      return { requests, errors: drawErrors(random, cell.mode, requests, s.p[0]) };
    }
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < BUCKET_S; i++) {
      const n = poisson(random, perSecond);
      requests += n;
      errors += drawErrors(random, cell.mode, n, s.p[0]);
    }
    return { requests, errors };
  });
}

function simulateRun(cell: Cell, run: number, g: Guardrails): Outcome {
  const random = createRandom(seedFrom(cell.id, run));
  const share = WEIGHT / 100;
  // "frozen" cells have stable history before the step (the latency baseline comes from
  // it too); "derived" cells start cold, with neither.
  const baseline = cell.latency === "frozen" ? baselineStable(cell, run, share) : [];
  let edge = Infinity;
  if (cell.latency === "frozen") {
    const warm = emptySketch();
    const samples = Math.min(WARMUP_SAMPLES, Math.round(60 * cell.rate * (1 - share)));
    const f = second(cell, 0).f[0];
    for (let i = 0; i < samples; i++) addValue(warm, latencySample(random, f));
    edge = binUpperBound(quantile(warm, g.latencyQuantile));
  }
  const calibration = emptySketch();
  const needed = Math.ceil(20 / (1 - g.latencyQuantile));
  let calibrated = cell.latency === "frozen";
  const windows: WindowCounts[] = [];
  const at: Record<Method, number | null> = { engine: null, flagger1: null, flagger5: null, ztest: null };
  let cause = "";
  let advanceAt: number | null = null;
  const total = [
    { n: 0, e: 0, timed: 0, s: 0 },
    { n: 0, e: 0, timed: 0, s: 0 },
  ];
  let minute = { n: 0, e: 0, counts: [] as number[], factors: [] as number[] };
  let failedChecks = 0;
  const cq = [0, 0];
  let cqFactor = [NaN, NaN];
  for (let t = 1; t <= STEP_S; t++) {
    if ((t - 1) % BUCKET_S === 0) {
      if (!calibrated && windows.length > 0 && calibration.count >= needed) {
        calibrated = true; // the calibration windows are complete: freeze the threshold
        edge = binUpperBound(quantile(calibration, g.latencyQuantile));
      }
      windows.push(emptyWindow((t - 1) * 1000));
    }
    const window = windows[windows.length - 1]!;
    const s = second(cell, t);
    for (let arm = 0; arm < 2; arm++) {
      const n = poisson(random, s.rate * (arm === 1 ? share : 1 - share));
      const errors = drawErrors(random, cell.mode, n, s.p[arm]!);
      const f = s.f[arm]!;
      if (calibrated && cqFactor[arm] !== f) {
        cq[arm] = exceedance(edge, f);
        cqFactor[arm] = f;
      }
      const slow = calibrated ? drawSlow(random, cell.mode, n, cq[arm]!) : 0;
      const counts = arm === 1 ? window.canary : window.stable;
      counts.requests += n;
      counts.errors += errors;
      if (calibrated) {
        counts.timed += n;
        counts.slow += slow;
      } else if (arm === 0) {
        for (let i = 0; i < n; i++) addValue(calibration, latencySample(random, f));
      }
      total[arm]!.n += n;
      total[arm]!.e += errors;
      total[arm]!.s += slow;
      if (calibrated) total[arm]!.timed += n;
      if (arm === 1) {
        minute.n += n;
        minute.e += errors;
        minute.counts.push(n);
        minute.factors.push(f);
      }
    }

    if (at.engine === null) {
      const input: CountsInput = {
        now: t * 1000,
        stepStartedAt: 0,
        weight: WEIGHT,
        minDurationMs: MIN_DURATION_MS,
        minRequests: MIN_REQUESTS,
        guardrails: g,
        windows,
        latencyThresholdMs: calibrated ? edge : null,
        baselineStable: baseline,
        latencySource: calibrated ? (cell.latency === "frozen" ? "frozen" : "derived") : "calibrating",
      };
      const d = decideCounts(input);
      if (d.action === "rollback") {
        at.engine = t;
        const e = d.explanation;
        cause = [e.errors.rejects && "errors", e.latency.rejects && "latency", e.burn.trips && "breaker"].filter(Boolean).join("+");
      } else if (d.action === "advance" && advanceAt === null) advanceAt = t;
    }

    if (t % 10 === 0 && at.ztest === null) {
      // Two-proportion z-test on cumulative counts, one-sided at z >= 1.96, errors or latency.
      const z = (a: number, b: number, na: number, nb: number): number => {
        const pooled = (a + b) / (na + nb);
        if (na === 0 || nb === 0 || pooled === 0 || pooled === 1) return 0;
        return (a / na - b / nb) / Math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
      };
      const [st, ca] = [total[0]!, total[1]!];
      if (z(ca.e, st.e, ca.n, st.n) >= 1.96 || (calibrated && z(ca.s, st.s, ca.timed, st.timed) >= 1.96)) at.ztest = t;
    }

    if (t % 60 === 0) {
      // Flagger: success rate >= 99% and p99 <= 500 ms over the last minute, checked each minute.
      if (minute.n > 0) {
        const failed = 1 - minute.e / minute.n < 0.99 || windowP99(random, minute.counts, minute.factors) > FLAGGER_MAX_P99_MS;
        if (failed) {
          failedChecks++;
          if (at.flagger1 === null) at.flagger1 = t;
          if (failedChecks >= 5 && at.flagger5 === null) at.flagger5 = t;
        }
      }
      minute = { n: 0, e: 0, counts: [], factors: [] };
    }
    if (cell.kind === "detect" && METHODS.every((m) => at[m] !== null)) break;
  }
  return { at, cause, advanceAt };
}

// ---------------------------------------------------------------- aggregation

interface CellResult {
  cell: Cell;
  runs: number;
  times: Record<Method, number[]>;
  causes: Record<string, number>;
  advances: number[];
  /** Runs where the engine said advance before it rolled back (or never rolled back). */
  advancedFirst: number;
  cpuMs: number;
}

function runTask(cell: Cell, from: number, to: number): CellResult {
  const started = process.cpuUsage();
  const g = GuardrailsSchema.parse(cell.guardrails ?? {});
  const result: CellResult = {
    cell,
    runs: to - from,
    times: { engine: [], flagger1: [], flagger5: [], ztest: [] },
    causes: {},
    advances: [],
    advancedFirst: 0,
    cpuMs: 0,
  };
  for (let run = from; run < to; run++) {
    const o = simulateRun(cell, run, g);
    for (const m of METHODS) if (o.at[m] !== null) result.times[m].push(o.at[m]!);
    if (o.cause) result.causes[o.cause] = (result.causes[o.cause] ?? 0) + 1;
    if (o.advanceAt !== null) result.advances.push(o.advanceAt);
    if (o.advanceAt !== null && (o.at.engine === null || o.advanceAt < o.at.engine)) result.advancedFirst++;
  }
  const used = process.cpuUsage(started);
  result.cpuMs = (used.user + used.system) / 1000;
  return result;
}

function mergeResults(a: CellResult, b: CellResult): CellResult {
  const times = { ...a.times };
  for (const m of METHODS) times[m] = [...a.times[m], ...b.times[m]];
  const causes = { ...a.causes };
  for (const [k, v] of Object.entries(b.causes)) causes[k] = (causes[k] ?? 0) + v;
  return {
    cell: a.cell,
    runs: a.runs + b.runs,
    times,
    causes,
    advances: [...a.advances, ...b.advances],
    advancedFirst: a.advancedFirst + b.advancedFirst,
    cpuMs: a.cpuMs + b.cpuMs,
  };
}

/** Nearest-rank quantile over all runs, runs without an event counting as never. */
function rank(times: number[], runs: number, q: number): number {
  const sorted = [...times].sort((x, y) => x - y);
  return sorted[Math.ceil(q * runs) - 1] ?? Infinity;
}

const secs = (x: number): string => (Number.isFinite(x) ? `${x} s` : `>${STEP_S} s`);
const rate = (k: number, n: number): string => `${((100 * k) / n).toFixed(k > 0 && k / n < 0.001 ? 3 : 2)}%`;
const detectCell = (times: number[], runs: number): string =>
  `${secs(rank(times, runs, 0.5))} / ${secs(rank(times, runs, 0.9))} (${Math.round((100 * times.length) / runs)}%)`;
const traffic = (c: Cell): string => `${c.rate} req/s, ${(c.baseline * 100).toFixed(1)}%`;

// ---------------------------------------------------------------- report

function find(results: CellResult[], id: string): CellResult | undefined {
  return results.find((r) => r.cell.id === id);
}

interface Target {
  name: string;
  measured: string;
  pass: boolean | null;
}

function targets(results: CellResult[]): Target[] {
  const out: Target[] = [];
  const aaRate = (name: string, id: string): void => {
    const r = find(results, id);
    const k = r?.times.engine.length ?? 0;
    out.push({ name, measured: r ? `${rate(k, r.runs)} (${k} of ${r.runs})` : "not run", pass: r ? k / r.runs <= 0.01 : null });
  };
  const median = (name: string, id: string, limit: number): void => {
    const r = find(results, id);
    const m = r ? rank(r.times.engine, r.runs, 0.5) : Infinity;
    out.push({ name, measured: r ? `median ${secs(m)}` : "not run", pass: r ? m <= limit : null });
  };
  aaRate("A/A false rollbacks <= 1%, 1000 req/s", "aa/1000/0.005/iid/frozen/");
  aaRate("A/A false rollbacks <= 1%, 100 req/s", "aa/100/0.005/iid/frozen/");
  median("errors 2x detected, median <= 60 s", "detect/1000/0.005/2/1/iid/frozen/", 60);
  median("errors 5x detected, median <= 10 s", "detect/1000/0.005/5/1/iid/frozen/", 10);
  median("p99 latency +50% detected, median <= 60 s", "detect/1000/0.005/1/1.5/iid/frozen/", 60);
  // A sequential test at alpha may roll back a healthy canary at any time, incident or not
  // (the A/A rate). The incident's own doing is any excess over that background: the same
  // traffic without the incident, counted over the same seconds (after 3:00).
  const pairs = (["1000", "100"] as const).map((rate) => ({
    incident: find(results, `aa/${rate}/0.005/incident/frozen/`),
    quiet: find(results, `aa/${rate}/0.005/iid/frozen/`),
  }));
  const ran = pairs.filter((p): p is { incident: CellResult; quiet: CellResult } => p.incident !== undefined && p.quiet !== undefined);
  const after = (r: CellResult): number => r.times.engine.filter((t) => t > INCIDENT_FROM_S).length;
  const during = ran.reduce((a, p) => a + after(p.incident), 0);
  const background = ran.reduce((a, p) => a + after(p.quiet), 0);
  const runs = ran.reduce((a, p) => a + p.incident.runs, 0);
  const quietRuns = ran.reduce((a, p) => a + p.quiet.runs, 0);
  out.push({
    name: "shared incident rolls back no healthy canary (no rollbacks beyond the A/A background)",
    measured: ran.length
      ? `${during} of ${runs} rolled back after the onset at 3:00; without the incident, ${background} of ${quietRuns} did in the same seconds`
      : "not run",
    pass: ran.length ? during / runs <= background / quietRuns : null,
  });
  const low = find(results, "detect/1000/0.001/5/1/iid/frozen/");
  const caught = low ? low.times.engine.length / low.runs : 0;
  out.push({
    name: "5x from a 0.1% baseline is caught (>= 95% within the step)",
    measured: low ? `${(caught * 100).toFixed(1)}% caught, median ${secs(rank(low.times.engine, low.runs, 0.5))}` : "not run",
    pass: low ? caught >= 0.95 : null,
  });
  return out;
}

function report(results: CellResult[], command: string, wallMs: number, workers: number): string {
  const cpu = results.reduce((a, r) => a + r.cpuMs, 0);
  const aaRows = results.filter((r) => r.cell.kind === "aa");
  const detectRows = results.filter((r) => r.cell.kind === "detect");
  const lines: string[] = [
    "# Decision engine: simulated canary steps",
    "",
    `Command: \`${command}\`. Wall time ${(wallMs / 1000).toFixed(0)} s with ${workers} worker processes ` +
      `(${(cpu / 1000).toFixed(0)} s of CPU in the workers).`,
    "",
    `One step at ${WEIGHT}% canary weight for ${STEP_S} s; per-second Poisson requests, Binomial errors and latency exceedances; ` +
      `the engine evaluated every second on ${BUCKET_S} s windows (step minimums ${MIN_DURATION_MS / 1000} s and ${MIN_REQUESTS} canary requests), ` +
      `default guardrails unless noted. Stable latency lognormal, median 60 ms, sigma ${SIGMA} (p99 about 306 ms); a latency regression ` +
      `scales every canary latency. Rivals on the same traffic: Flagger-like (success rate >= 99% and p99 <= ${FLAGGER_MAX_P99_MS} ms per 1-minute check, ` +
      `rollback after 1 or 5 failed checks) and a two-proportion z-test (z >= 1.96 on errors or on exceedances) re-checked every 10 s. Seeds are fixed.`,
    "",
    `Scenarios: overdispersed = per-second beta-binomial error and slow rates (concentration ${OVERDISPERSION_KAPPA}) per arm; ` +
      `bursty = errors in bursts of mean ${BURST_MEAN} (a failure and its retries) in one arm; drift = both arms' traffic +50%, errors x3 ` +
      `and latency +30% over the step; incident = both arms' errors x10 and latency x2 from 3:00 to 5:00.`,
    "",
    `## A/A: healthy canaries rolled back within ${STEP_S / 60} minutes`,
    "",
    "| traffic, baseline errors | scenario | runs | engine | engine cause | engine: median time to advance | Flagger, 1 check | Flagger, 5 checks | z-test / 10 s |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of aaRows) {
    const causes =
      Object.entries(r.causes)
        .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb))
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "-";
    lines.push(
      `| ${traffic(r.cell)} | ${r.cell.label} | ${r.runs} | ${rate(r.times.engine.length, r.runs)} | ${causes} | ` +
        `${secs(rank(r.advances, r.runs, 0.5))} | ${rate(r.times.flagger1.length, r.runs)} | ${rate(r.times.flagger5.length, r.runs)} | ${rate(r.times.ztest.length, r.runs)} |`,
    );
  }
  lines.push(
    "",
    "## Time to detect: median / p90 (share caught within the step)",
    "",
    "| traffic, baseline errors | regression | runs | engine | engine advanced it first | Flagger, 1 check | Flagger, 5 checks | z-test / 10 s |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const r of detectRows) {
    lines.push(
      `| ${traffic(r.cell)} | ${r.cell.label} | ${r.runs} | ${detectCell(r.times.engine, r.runs)} | ${rate(r.advancedFirst, r.runs)} | ${detectCell(r.times.flagger1, r.runs)} | ` +
        `${detectCell(r.times.flagger5, r.runs)} | ${detectCell(r.times.ztest, r.runs)} |`,
    );
  }
  lines.push("", "## Targets (1000 req/s, 5% canary, 0.5% baseline unless noted)", "", "| target | measured | result |", "|---|---|---|");
  for (const t of targets(results)) lines.push(`| ${t.name} | ${t.measured} | ${t.pass === null ? "NOT RUN" : t.pass ? "PASS" : "FAIL"} |`);
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------- orchestration

interface Task {
  cell: Cell;
  from: number;
  to: number;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function runInChildren(tasks: Task[], workers: number): Promise<CellResult[]> {
  const script = fileURLToPath(import.meta.url);
  const byCell = new Map<string, CellResult>();
  let next = 0;
  return new Promise((resolve, reject) => {
    let alive = 0;
    for (let w = 0; w < Math.min(workers, tasks.length); w++) {
      const child = fork(script, ["--child"], { execArgv: process.execArgv });
      alive++;
      const feed = (): void => {
        if (next < tasks.length) child.send(tasks[next++]!);
        else child.send("done");
      };
      child.on("message", (r: CellResult) => {
        const prev = byCell.get(r.cell.id);
        byCell.set(r.cell.id, prev ? mergeResults(prev, r) : r);
        feed();
      });
      child.on("error", reject);
      child.on("exit", (code) => {
        if (code !== 0) reject(new Error(`worker exited with ${code}`));
        if (--alive === 0) resolve([...byCell.values()]);
      });
      feed();
    }
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--child")) {
    process.on("message", (task: Task | "done") => {
      if (task === "done") process.exit(0);
      process.send!(runTask(task.cell, task.from, task.to));
    });
    return;
  }
  const quick = args.includes("--quick");
  const aaRuns = Number(option(args, "--runs") ?? (quick ? 500 : 10_000));
  const detectRuns = Number(option(args, "--detect-runs") ?? (quick ? 500 : Math.max(200, Math.round(aaRuns / 5))));
  const workers = Number(option(args, "--workers") ?? availableParallelism());
  const only = option(args, "--only");
  const started = performance.now();
  const over = option(args, "--guardrails");
  const overlay = over === undefined ? undefined : (JSON.parse(over) as GuardrailsInput);
  const cells = buildCells(aaRuns, detectRuns)
    .filter((c) => !only || c.id.includes(only) || c.label.includes(only))
    .map((c) => (overlay ? { ...c, guardrails: { ...c.guardrails, ...overlay } } : c));
  if (overlay) GuardrailsSchema.parse(overlay); // a bad overlay fails here, naming the field
  const tasks: Task[] = [];
  for (const cell of cells) for (let from = 0; from < cell.runs; from += 500) tasks.push({ cell, from, to: Math.min(cell.runs, from + 500) });
  const results = await runInChildren(tasks, workers);
  const order = new Map(cells.map((c, i) => [c.id, i]));
  results.sort((a, b) => order.get(a.cell.id)! - order.get(b.cell.id)!);
  const command = `npx tsx scripts/bench/decision-sim.ts${args.length ? " " + args.join(" ") : ""}`;
  const md = report(results, command, performance.now() - started, workers);
  process.stdout.write(md);
  // Only a full run of every cell updates the checked-in results.
  if (!only && !quick && !overlay && option(args, "--runs") === undefined && option(args, "--detect-runs") === undefined) {
    const out = join(dirname(fileURLToPath(import.meta.url)), "results", "decision-sim.md");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, md);
    process.stdout.write(`\nwritten to ${out}\n`);
  }
}

export { buildCells, simulateRun, type Cell };

// Importable (for a one-off look at single runs) without starting the simulation.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
