// bench:decisions --metrics: the rollout engine with per-user metric guardrails
// (src/core/stats/metric-test.ts through decideRollout), on seeded simulated users.
//
// Users arrive Poisson at rate / REQUESTS_PER_USER per second and are split by the step's
// weight when they arrive (a hash cohort; a user never changes arm here, and a user's whole
// session is recorded when they arrive: the moments are what the coordinator's per-user
// table holds once their session is over). Per user:
//   checkout (conversion, better higher): converts with a per-user probability drawn from
//     Beta(0.6, 19.4) (mean 3%; the user's 0/1 value is then Bernoulli(3%), heterogeneity
//     does not change a 0/1 per-user value's distribution);
//   quality (mean, better higher): 1 + Poisson(2) scores, user mean ~ N(0.8, 0.1^2),
//     scores ~ N(user mean, 0.2^2): between- and within-user variance;
//   js_error (rate-per-user, better lower): Poisson(Gamma(shape 0.1, mean 0.2)) events,
//     variance 0.6, three times Poisson's.
// All three are guardrails at the default tolerance (5%). Requests and the request-level
// tests run as in a healthy rollout: Poisson requests per arm, failing identities at 0.5%
// of requests / 3 (retry bursts of 3), exceedances of the stable p99 and p50 Binomial at
// 1% and 50% ("history" thresholds, known exactly: the request-level cells of
// decision-sim.ts model thresholds in detail; here they only have to spend their alpha).
//
// A/A cells evaluate the engine every second with the open window (as the coordinator),
// on the 5-step ladder; detection cells hold one 50% step for hours and evaluate at each
// window's close (every 10 s: a detection can be at most 10 s late for it).
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MetricSchema } from "../../src/core/config/schema.js";
import { emptyMoments, type MetricInput, type MomentStats } from "../../src/core/metrics/metric-stats.js";
import { GuardrailsSchema, type Guardrails, type GuardrailsInput } from "../../src/core/stats/guardrails.js";
import { MIN_METRIC_USERS, MIXTURE_SCALE } from "../../src/core/stats/metric-test.js";
import { binomial, createRandom, gamma, normal, poisson, seedFrom, type Random } from "../../src/core/stats/prng.js";
import { closeWindow, createEngineState, decideRollout, METRIC_ALPHA_SHARE, type ArmWindow, type RolloutWindow } from "../../src/core/stats/rollout-engine.js";

const WINDOW_S = 10;
const REQUESTS_PER_USER = 5;
const ERROR_RATE = 0.005;
const BURST = 3;
const CONVERSION = 0.03;
const QUALITY = { mean: 0.8, between: 0.1, within: 0.2, extra: 2 };
const JS_ERRORS = { mean: 0.2, shape: 0.1 };

const METRICS = [
  MetricSchema.parse({ name: "checkout", kind: "conversion", better: "higher", maxRelativeDrop: 0.05 }),
  MetricSchema.parse({ name: "quality", kind: "mean", better: "higher", maxRelativeDrop: 0.05 }),
  MetricSchema.parse({ name: "js_error", kind: "rate-per-user", better: "lower", maxRelativeIncrease: 0.05 }),
];

export interface MetricCell {
  id: string;
  label: string;
  kind: "aa" | "detect";
  rate: number;
  /** The ladder's weights; a held step has a minimum of the horizon. */
  ladder: number[];
  hold: boolean;
  horizonS: number;
  /** Canary multipliers of the three metrics' means (1: as stable). */
  effect: { checkout: number; quality: number; js_error: number };
  runs: number;
  /** Guardrails over the defaults (the calibration cells raise alpha so that its use is measurable). */
  guardrails?: GuardrailsInput;
  /** Evaluate every second with the open window (A/A) rather than at each window's close. */
  everySecond: boolean;
}

export interface MetricOutcome {
  /** Second of the first fail, and whether a metric's reason was in it. */
  failAt: number | null;
  metricFail: boolean;
  /** The second the ladder's last step advanced (promoted), if it did. */
  promotedAt: number | null;
  /** Canary users per arm at the failure (or the end). */
  canaryUsers: number;
  stableUsers: number;
}

const NONE = { checkout: 1, quality: 1, js_error: 1 };
/** Every metric exactly at its tolerance: the null's boundary, where a test spends its alpha. */
const AT_TOLERANCE = { checkout: 0.95, quality: 0.95, js_error: 1.05 };
const LADDER = [5, 10, 25, 50, 100];
export function buildMetricCells(aaRuns: number, detectRuns: number): MetricCell[] {
  const aa = (over: Partial<MetricCell> & Pick<MetricCell, "id" | "label">): MetricCell => ({ kind: "aa", rate: 1000, ladder: LADDER, hold: false, horizonS: 1800, effect: NONE, runs: aaRuns, everySecond: true, ...over });
  const det = (over: Partial<MetricCell> & Pick<MetricCell, "id" | "label">): MetricCell => ({ kind: "detect", rate: 1000, ladder: [50], hold: true, horizonS: 6 * 3600, effect: NONE, runs: detectRuns, everySecond: false, ...over });
  return [
    aa({ id: "m-aa-1000", label: "A/A, 3 metric guardrails, 5-step, 1000 req/s" }),
    aa({ id: "m-aa-100", label: "A/A, 3 metric guardrails, 5-step, 100 req/s", rate: 100 }),
    aa({ id: "m-aa-hold", label: "A/A, 3 metric guardrails, 50% held, 1000 req/s", ladder: [50], hold: true, horizonS: 7200 }),
    aa({ id: "m-edge-hold", label: "every metric at its tolerance, 50% held, 1000 req/s", ladder: [50], hold: true, horizonS: 7200, effect: AT_TOLERANCE }),
    aa({ id: "m-edge-a20", label: "every metric at its tolerance, alpha 0.2 (0.0167 per metric), 50% held, 1000 req/s", ladder: [50], hold: true, horizonS: 7200, effect: AT_TOLERANCE, guardrails: { alpha: 0.2 } }),
    aa({ id: "m-edge-a20-100", label: "every metric at its tolerance, alpha 0.2, 5% held, 100 req/s (small n)", rate: 100, ladder: [5], hold: true, horizonS: 7200, effect: AT_TOLERANCE, guardrails: { alpha: 0.2 } }),
    det({ id: "m-conv-1000", label: "checkout -10% (3% base), 50% held, 1000 req/s", effect: { ...NONE, checkout: 0.9 } }),
    det({ id: "m-conv-100", label: "checkout -10% (3% base), 50% held, 100 req/s", rate: 100, horizonS: 48 * 3600, effect: { ...NONE, checkout: 0.9 } }),
    det({ id: "m-conv-ladder", label: "checkout -10% (3% base), 5-step, 1000 req/s", ladder: LADDER, hold: false, horizonS: 1800, effect: { ...NONE, checkout: 0.9 }, everySecond: true }),
    det({ id: "m-quality-ladder", label: "quality -10%, 5-step, 1000 req/s", ladder: LADDER, hold: false, horizonS: 1800, effect: { ...NONE, quality: 0.9 }, everySecond: true }),
    det({ id: "m-jserr-1000", label: "js_error +30%, 50% held, 1000 req/s", effect: { ...NONE, js_error: 1.3 } }),
  ];
}

const zeroArm = (): ArmWindow => ({ requests: 0, errors: 0, failedUsers: 0, timed: 0, slow: 0, timedMid: 0, slowMid: 0 });

/** One arm's requests over `sec` seconds into `a`. */
function addRequests(random: Random, a: ArmWindow, mean: number): void {
  const n = poisson(random, mean);
  const failed = poisson(random, (n * ERROR_RATE) / BURST);
  a.requests += n;
  a.failedUsers += failed;
  a.errors += failed * BURST;
  a.timed += n;
  a.slow += binomial(random, n, 0.01);
  a.timedMid += n;
  a.slowMid += binomial(random, n, 0.5);
}

/** n users of one arm into its three moments. */
function addUsers(random: Random, n: number, m: MomentStats[], effect: MetricCell["effect"]): void {
  if (n === 0) return;
  const conv = binomial(random, n, CONVERSION * effect.checkout);
  m[0]!.n += n;
  m[0]!.sum += conv;
  m[0]!.sumSq += conv;
  for (let i = 0; i < n; i++) {
    const k = 1 + poisson(random, QUALITY.extra);
    const v = (QUALITY.mean + QUALITY.between * normal(random) + (QUALITY.within / Math.sqrt(k)) * normal(random)) * effect.quality;
    m[1]!.n++;
    m[1]!.sum += v;
    m[1]!.sumSq += v * v;
    const lambda = gamma(random, JS_ERRORS.shape) * (JS_ERRORS.mean / JS_ERRORS.shape) * effect.js_error;
    const e = lambda > 0 ? poisson(random, lambda) : 0;
    m[2]!.n++;
    m[2]!.sum += e;
    m[2]!.sumSq += e * e;
  }
}

export function simulateMetricRun(c: MetricCell, run: number, g: Guardrails, seeds: string): MetricOutcome {
  const random = createRandom(seedFrom(`${seeds}/${c.id}`, run));
  const state = createEngineState(g);
  const stable = METRICS.map(() => emptyMoments());
  const canary = METRICS.map(() => emptyMoments());
  const inputs = (): MetricInput[] => METRICS.map((def, i) => ({ def, stable: { ...stable[i]! }, canary: { ...canary[i]! } }));
  let step = 0;
  let stepStartedAt = 0;
  let open: RolloutWindow | undefined;
  const out: MetricOutcome = { failAt: null, metricFail: false, promotedAt: null, canaryUsers: 0, stableUsers: 0 };
  // Detection cells step a window at a time (evaluated at its close); A/A cells a second at a time.
  const tick = c.everySecond ? 1 : WINDOW_S;
  for (let t = 0; t < c.horizonS; t += tick) {
    const weight = c.ladder[step]!;
    if (!open) open = { start: t * 1000, step, weight, stable: zeroArm(), canary: zeroArm() };
    const s = weight / 100;
    addRequests(random, open.stable, c.rate * (1 - s) * tick);
    addRequests(random, open.canary, c.rate * s * tick);
    const users = poisson(random, (c.rate / REQUESTS_PER_USER) * tick);
    const cu = binomial(random, users, s);
    addUsers(random, cu, canary, c.effect);
    addUsers(random, users - cu, stable, NONE);
    const now = (t + tick) * 1000;
    const closes = (t + tick) % WINDOW_S === 0;
    if (closes) {
      closeWindow(state, open, g);
      open = undefined;
    }
    const d = decideRollout({
      now,
      stepStartedAt,
      stepIndex: step,
      weight,
      minDurationMs: c.hold ? c.horizonS * 1000 : 60_000,
      minRequests: 200,
      open,
      latencySource: "history",
      guardrails: g,
      state,
      metrics: inputs(),
    });
    if (d.action === "fail") {
      out.failAt = t + tick;
      out.metricFail = d.reason.includes("metric ");
      break;
    }
    if (d.action === "advance") {
      if (step === c.ladder.length - 1) {
        out.promotedAt = t + tick;
        break;
      }
      if (open) {
        closeWindow(state, open, g);
        open = undefined;
      }
      step++;
      stepStartedAt = now;
    }
  }
  out.canaryUsers = canary[0]!.n;
  out.stableUsers = stable[0]!.n;
  return out;
}

interface Task {
  cell: MetricCell;
  from: number;
  to: number;
  seeds: string;
}
interface TaskResult {
  id: string;
  outcomes: MetricOutcome[];
}

function runTask(t: Task): TaskResult {
  const g = GuardrailsSchema.parse({ ...t.cell.guardrails });
  const outcomes: MetricOutcome[] = [];
  for (let r = t.from; r < t.to; r++) outcomes.push(simulateMetricRun(t.cell, r, g, t.seeds));
  return { id: t.cell.id, outcomes };
}

function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}
const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
const rateCi = (k: number, n: number): string => {
  const [lo, hi] = wilson(k, n);
  return `${pct(k / n)} [${pct(lo)}, ${pct(hi)}] (${k} of ${n})`;
};
function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
/** 95% interval of the median by order statistics (runs that never detect count as +infinity). */
function medianCi(times: number[], runs: number): string {
  const s = [...times].sort((a, b) => a - b);
  const at = (k: number): string => (k < s.length ? dur(s[k]!) : "never");
  const h = 1.96 * Math.sqrt(runs) / 2;
  return `${at(Math.floor(runs / 2))} [${at(Math.max(0, Math.floor(runs / 2 - h)))}, ${at(Math.min(runs - 1, Math.ceil(runs / 2 + h)))}]`;
}
const dur = (s: number): string => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`);

function report(cells: MetricCell[], results: Map<string, MetricOutcome[]>, command: string, seeds: string, wallMs: number): string {
  const g = GuardrailsSchema.parse({});
  const lines: string[] = [];
  lines.push("# bench:decisions --metrics: per-user metric guardrails in the rollout engine", "");
  lines.push(`Command: \`${command}\` (seed set \`${seeds}\`, ${Math.round(wallMs / 1000)} s wall).`, "");
  lines.push(
    `Engine defaults: alpha ${g.alpha} per rollout, METRIC_ALPHA_SHARE ${METRIC_ALPHA_SHARE} to the ${METRICS.length} guardrails ` +
      `(${((g.alpha * METRIC_ALPHA_SHARE) / METRICS.length).toPrecision(2)} each), mixture scale ${MIXTURE_SCALE} of the pooled mean, ` +
      `at least ${MIN_METRIC_USERS} users per arm. Users: one per ${REQUESTS_PER_USER} requests (1000 req/s: ${1000 / REQUESTS_PER_USER} new users/s; 100 req/s: ${100 / REQUESTS_PER_USER}/s). ` +
      "Metrics: checkout (conversion, 3%), quality (mean 0.8, between-user sd 0.1, within 0.2), js_error (rate-per-user 0.2, variance 0.6); tolerance 5% each.",
    "",
  );
  lines.push("| cell | runs | failed (any test) | failed by a metric | promoted (held: kept to the horizon) | time to fail: median [95%] | p90 | canary users at the median fail |", "|---|---|---|---|---|---|---|---|");
  for (const c of cells) {
    const os = results.get(c.id) ?? [];
    const n = os.length;
    const failed = os.filter((o) => o.failAt !== null).length;
    const byMetric = os.filter((o) => o.metricFail).length;
    const promoted = os.filter((o) => o.promotedAt !== null).length;
    const times = os.filter((o) => o.metricFail).map((o) => o.failAt!);
    const users = quantile(os.filter((o) => o.metricFail).map((o) => o.canaryUsers), 0.5);
    const p90 = quantile(times.concat(Array(n - times.length).fill(Number.POSITIVE_INFINITY)), 0.9);
    lines.push(
      `| ${c.label} (${dur(c.horizonS)} horizon) | ${n} | ${rateCi(failed, n)} | ${rateCi(byMetric, n)} | ${pct(promoted / n)} | ${c.kind === "detect" ? medianCi(times, n) : "-"} | ${c.kind === "detect" && p90 !== null && Number.isFinite(p90) ? dur(p90) : "-"} | ${users === null ? "-" : users.toLocaleString("en")} |`,
    );
  }
  lines.push("");
  lines.push(
    "Intervals: Wilson 95% for rates; the median's by order statistics (runs without a detection count as never). " +
      "A/A: healthy canary, three metric guardrails, evaluated every second with the open window; a fail of any test (errors, latency, metrics) counts against the per-rollout budget (alpha 1%). " +
      "Detection: a fail whose reason names a metric; times from the rollout's start; held cells keep one 50% step for the horizon and read at each window's close.",
  );
  return lines.join("\n") + "\n";
}

export async function metricsMain(args: string[], option: (name: string) => string | undefined): Promise<void> {
  const quick = args.includes("--quick");
  const aaRuns = Number(option("--runs") ?? (quick ? 100 : 500));
  const detectRuns = Number(option("--detect-runs") ?? (quick ? 20 : 100));
  const workers = Number(option("--workers") ?? 2);
  const seeds = option("--seeds") ?? "metrics-report";
  const only = option("--only");
  const cells = buildMetricCells(aaRuns, detectRuns).filter((c) => !only || c.id.includes(only) || c.label.includes(only));
  const tasks: Task[] = [];
  const chunk = (c: MetricCell): number => (c.hold ? 5 : 50);
  for (const c of cells) for (let from = 0; from < c.runs; from += chunk(c)) tasks.push({ cell: c, from, to: Math.min(c.runs, from + chunk(c)), seeds });
  tasks.sort((a, b) => b.cell.horizonS / b.cell.rate - a.cell.horizonS / a.cell.rate);
  const started = performance.now();
  const results = new Map<string, MetricOutcome[]>();
  await new Promise<void>((done, fail) => {
    let next = 0;
    let alive = 0;
    const script = fileURLToPath(import.meta.url);
    for (let w = 0; w < Math.min(workers, tasks.length); w++) {
      const child = fork(script, ["--metrics-child"], { execArgv: process.execArgv });
      alive++;
      const feed = (): void => void (next < tasks.length ? child.send(tasks[next++]!) : child.send("done"));
      child.on("message", (r: TaskResult) => {
        results.set(r.id, (results.get(r.id) ?? []).concat(r.outcomes));
        feed();
      });
      child.on("error", fail);
      child.on("exit", (code) => {
        if (code !== 0) fail(new Error(`worker exited with ${code}`));
        if (--alive === 0) done();
      });
      feed();
    }
  });
  const command = `npx tsx scripts/bench/decision-sim.ts ${args.join(" ")}`;
  const md = report(cells, results, command, seeds, performance.now() - started);
  process.stdout.write(md);
  if (!only && !quick && seeds === "metrics-report" && option("--runs") === undefined && option("--detect-runs") === undefined) {
    const out = join(dirname(fileURLToPath(import.meta.url)), "results", "decision-sim-metrics.md");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, md);
    process.stdout.write(`\nwritten to ${out}\n`);
  }
}

if (process.argv.includes("--metrics-child")) {
  process.on("message", (t: Task | "done") => {
    if (t === "done") process.exit(0);
    process.send!(runTask(t));
  });
}
