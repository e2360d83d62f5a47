// The shadow phase: a release validated on real traffic before any user sees it. A
// second route, `api` (the JSON API under /api, same two origins), gets a release whose
// plan starts with a shadow stage: every user is served by stable, the edge mirrors each
// request to the canary and compares the two JSON answers (requestId and servedAt left
// out), and the coordinator's engine judges the stage on the mirrored pairs.
//   1. The canary build has a bug in GET /api/quote (the tax is added twice to `total`):
//      users never see it, the comparison does, and the engine rolls the release back on
//      the mismatches. The demo prints a mismatch sample from GET /routes/api/shadow.
//   2. The fix is deployed to the canary origin and pushed as a new release: the answers
//      match, and the engine graduates it from the shadow stage to the live 10% stage,
//      after which users are served by their cohorts.
// It reads only what an operator can read: /status, /events and /routes/api/shadow.
import type { AuditEvent, ShadowReport } from "../../src/core/admin-protocol.js";
import type { StageConfig } from "../../src/core/config/schema.js";
import { EventFeed } from "./admin.js";
import { DEMO_SHADOW, SHADOW_ROUTE, routeOf, withShadowRoute } from "./config.js";
import type { DemoContext, Phase } from "./context.js";
import { expectedCohort } from "./convergence.js";
import { num, pct, secs } from "./print.js";
import { summarize, type WindowStats } from "./traffic.js";
import { driveWatching, rollbackOf } from "./watch.js";

const BAD_RELEASE = "demo-4";
const FIXED_RELEASE = "demo-5";
/** The JSON endpoint the users call in this phase (scripts/lib/origin-server.ts). */
const QUOTE = "/api/quote";
/** Live weight of the stage after the shadow stage; 10%, not 5%, for the reason in docs/demo.md. */
const LIVE = 10;
/** Requests sent this close before the graduation may have been answered after it. */
const IN_FLIGHT_MS = 500;
const STAGES: StageConfig[] = [{ shadow: { percent: 100 } }, { percent: LIVE }];

function stepsFor(ctx: DemoContext): { stages: StageConfig[]; minDurationSec: number; minRequests: number } {
  return { stages: STAGES, minDurationSec: ctx.quick ? 3 : 8, minRequests: 50 };
}

function failures(s: WindowStats): string {
  return s.failed === 0 ? `${num(s.requests)} requests` : [...s.failures].map(([k, n]) => `${k} x${n}`).join(", ");
}

/** The engine's advance of `release` out of its first stage (the shadow stage), if any. */
function graduationOf(events: readonly AuditEvent[], release: string): AuditEvent | undefined {
  return events.find((e) => e.release === release && e.event === "advance" && e.step === 2);
}

/** GET /routes/api/shadow, or the reason it failed (a missing endpoint is a failed check, not a crash). */
async function shadowReport(ctx: DemoContext, routeId = SHADOW_ROUTE): Promise<{ report?: ShadowReport; error?: string }> {
  try {
    return { report: await ctx.admin.shadow(routeId) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function printReport(ctx: DemoContext, r: ShadowReport): void {
  const p = ctx.print;
  const o = r.outcomes;
  const lat = (v: { p50: number | null; p99: number | null }) => `p50 ${v.p50?.toFixed(1) ?? "-"} ms, p99 ${v.p99?.toFixed(1) ?? "-"} ms`;
  p.line(`    ${p.c.bold("shadow report")} ${p.c.dim(`(GET /__canary/api/routes/${SHADOW_ROUTE}/shadow; npm run canary -- shadow ${SHADOW_ROUTE})`)}`);
  p.table(
    [
      ["outcomes", `match ${num(o.match)}, mismatch ${o.mismatch > 0 ? p.c.red(num(o.mismatch)) : "0"}, canary error ${num(o.canary_error)}, canary timeout ${num(o.canary_timeout)}, skipped ${num(o.skipped)}`],
      ["mismatch rate", r.mismatchRate === null ? "-" : pct(r.mismatchRate, 2)],
      ["paired latency", `stable ${lat(r.latency.stable)}; canary ${lat(r.latency.canary)}`],
    ],
    "      ",
  );
}

export const shadow: Phase = {
  title: "Shadow stage: the canary answers mirrored requests, users only ever get stable",
  async run(ctx) {
    const p = ctx.print;
    const { canary } = ctx.origins;
    const steps = stepsFor(ctx);
    const watchRoute = { routeId: SHADOW_ROUTE, path: QUOTE };
    const tailMs = ctx.syncMs + 1_500;
    p.line(`    A second route, "${SHADOW_ROUTE}" (path /api: the JSON API), in front of the same origins. Its release plan is`);
    p.line(`    [shadow 100%, ${LIVE}%]: in the shadow stage every user is served by stable, and the edge mirrors each request`);
    p.line(`    to the canary (x-canary-shadow: 1) and compares the answers: shadow.compare "${DEMO_SHADOW.compare}", headers [${DEMO_SHADOW.headers.join(", ")}],`);
    p.line(`    ignore [${DEMO_SHADOW.ignore.join(", ")}] (they differ on every answer). The users now call GET ${QUOTE}.`);

    // 1. A canary with a bug only a comparison shows.
    await ctx.setOriginMode(canary, { quoteBug: true });
    p.step(`canary origin: GET ${QUOTE} now adds the tax twice to "total" (POST /__origin/mode {quoteBug: true}); stable's quote is right`);
    p.step(`writing route "${SHADOW_ROUTE}", release ${BAD_RELEASE}, plan [shadow 100%, ${LIVE}%] to local KV`);
    let bad: Awaited<ReturnType<typeof driveWatching>>;
    try {
      // A new route has no audit log yet (events?route= answers 404): the feed then starts from the beginning.
      const feed = new EventFeed(ctx.admin, SHADOW_ROUTE, p);
      await feed.prime().catch(() => undefined);
      const pushed = await ctx.setConfig(withShadowRoute(ctx.config, BAD_RELEASE, steps), watchRoute);
      p.step(`KV written in ${secs(pushed.putMs)}; edge serving ${BAD_RELEASE} ${secs(pushed.convergence.ms)} later ${p.c.dim(`(${pushed.convergence.how})`)}`);
      bad = await driveWatching(ctx, feed, {
        label: `${BAD_RELEASE} shadow`,
        weight: 0,
        routeId: SHADOW_ROUTE,
        paths: [QUOTE],
        maxMs: ctx.seconds(30, 20),
        until: (w) => {
          const rb = rollbackOf(w.events, BAD_RELEASE);
          return rb !== undefined && Date.now() >= rb.at + tailMs;
        },
      });
    } finally {
      await ctx.setOriginMode(canary, { quoteBug: false });
    }
    const s = bad.stats;
    const rb = rollbackOf(bad.watch.events, BAD_RELEASE);
    const m = summarize(s);
    p.table([
      ["requests", `${num(s.requests)} in ${secs(s.ms)} (${Math.round(m.rps)} req/s), from ${m.usersSeen} users`],
      ["served by", `stable ${p.c.green(num(s.served.stable))}   canary ${p.c.yellow(num(s.served.canary))}`],
      ["rollback", rb ? `by the ${rb.actor}, ${secs(rb.at - bad.watch.startedAt)} after traffic started: ${p.c.dim(rb.reason)}` : p.c.red("none")],
    ]);
    ctx.check("shadow stage: every request served by stable, none failed", s.served.canary === 0 && s.failed === 0 && s.requests > 0, `${num(s.served.canary)} by canary; ${failures(s)}`);
    ctx.check("every answer users got came from stable (x-origin-version)", s.mismatches === 0, `${s.mismatches} answers named another origin`);
    ctx.check(`the engine rolled ${BAD_RELEASE} back on the mismatches`, rb !== undefined && rb.actor === "engine", rb ? `${rb.actor}: ${rb.reason}` : `no rollback within ${secs(s.ms)}`);

    const badReport = await shadowReport(ctx);
    if (badReport.report) {
      printReport(ctx, badReport.report);
      const sample = badReport.report.samples.find((x) => x.part === "json");
      if (sample) {
        p.line(`    ${p.c.bold("a mismatch sample")}: ${sample.method} ${sample.path}, part ${sample.part}, statuses ${sample.stableStatus}/${sample.canaryStatus}: ${p.c.red(sample.detail)}`);
      }
      ctx.check(
        'the shadow report has a json mismatch sample naming "total"',
        sample !== undefined && /\btotal\b/.test(sample.detail) && badReport.report.outcomes.mismatch > 0,
        sample ? sample.detail : `${badReport.report.samples.length} samples, ${badReport.report.outcomes.mismatch} mismatches`,
      );
    } else {
      ctx.check(`GET /routes/${SHADOW_ROUTE}/shadow answers`, false, badReport.error ?? "no report");
    }

    // 2. The fix: the canary's answers now match; a new release id starts a new rollout.
    p.step(`the fix is deployed to the canary origin (quoteBug: false): its quote matches stable's except requestId and servedAt`);
    const feed = new EventFeed(ctx.admin, SHADOW_ROUTE, p);
    await feed.prime();
    p.step(`writing release ${FIXED_RELEASE}, the same plan [shadow 100%, ${LIVE}%], to local KV`);
    const pushed = await ctx.setConfig(withShadowRoute(ctx.config, FIXED_RELEASE, steps), watchRoute);
    p.step(`KV written in ${secs(pushed.putMs)}; edge serving ${FIXED_RELEASE} ${secs(pushed.convergence.ms)} later ${p.c.dim(`(${pushed.convergence.how})`)}`);
    // Until the graduation has reached the isolates and the live stage has served a while.
    const liveMs = ctx.syncMs + ctx.seconds(4, 2.5);
    const good = await driveWatching(ctx, feed, {
      label: `${FIXED_RELEASE} shadow, then ${LIVE}%`,
      weight: 0,
      routeId: SHADOW_ROUTE,
      paths: [QUOTE],
      maxMs: ctx.seconds(60, 35),
      until: (w) => {
        const g = graduationOf(w.events, FIXED_RELEASE);
        return (g !== undefined && Date.now() >= g.at + liveMs) || rollbackOf(w.events, FIXED_RELEASE) !== undefined;
      },
    });
    const g = good.stats;
    const grad = graduationOf(good.watch.events, FIXED_RELEASE);
    const start = good.watch.events.find((e) => e.release === FIXED_RELEASE && e.event === "config");
    const rows: Array<[string, string]> = [
      ["requests", `${num(g.requests)} in ${secs(g.ms)}; served by stable ${p.c.green(num(g.served.stable))}, canary ${p.c.yellow(num(g.served.canary))}`],
    ];
    if (grad) {
      rows.push([`stage shadow 100%`, `${secs(grad.at - (start?.at ?? good.watch.startedAt)).padStart(6)}  ${p.c.dim(grad.reason.replace(/^advance: /, ""))}`]);
      rows.push([`stage ${LIVE}%`, `from ${secs(grad.at - (start?.at ?? good.watch.startedAt))}: users in the canary's ${LIVE}% cohort are served by it (the release goes on to promote, as in phase 4)`]);
    }
    p.table(rows);
    ctx.check(
      `the engine graduated ${FIXED_RELEASE} from shadow 100% to ${LIVE}%`,
      grad !== undefined && grad.actor === "engine" && grad.weight === LIVE,
      grad ? `${grad.actor}, step ${grad.step} at ${grad.weight}%` : `no advance within ${secs(g.ms)}${rollbackOf(good.watch.events, FIXED_RELEASE) ? " (rolled back!)" : ""}`,
    );
    ctx.check("no failed requests", g.failed === 0, failures(g));
    ctx.check("every answer came from the origin named in x-canary-variant", g.mismatches === 0, `${g.mismatches} mismatches`);
    if (grad) {
      // A request still in flight when the coordinator decided may see the new stage (its
      // isolate's sync returned meanwhile): only those sent IN_FLIGHT_MS before it count.
      const before = g.timeline.filter((v) => v.at < grad.at - IN_FLIGHT_MS);
      const onCanary = before.filter((v) => v.served === "canary").length;
      ctx.check("in the shadow stage no request was served by the canary", onCanary === 0 && before.length > 0, `${onCanary}/${before.length} requests sent more than ${secs(IN_FLIGHT_MS)} before the graduation`);
      // Exact per user, as in the split phase: after the graduation (one sync + 1 s) each
      // user's answers come from the cohort its canary_id hashes to at 10%.
      const route = routeOf(ctx.parsed, SHADOW_ROUTE);
      const cutoff = grad.at + ctx.syncMs + 1_000;
      let late = 0;
      let canaryLate = 0;
      let wrong = 0;
      for (const v of g.timeline) {
        if (v.at <= cutoff || v.cohort === undefined) continue;
        late++;
        if (v.served === "canary") canaryLate++;
        const id = ctx.traffic.users[v.user]?.jar.get(route.sticky.cookieName);
        if (id === undefined || v.cohort !== expectedCohort(route, id, LIVE)) wrong++;
      }
      ctx.check(
        `after the graduation every request is served by the user's ${LIVE}% cohort`,
        late > 0 && canaryLate > 0 && wrong === 0,
        `${num(canaryLate)}/${num(late)} requests sent more than ${secs(cutoff - grad.at)} after it served by the canary; ${wrong} outside their cohort`,
      );
    }
    const goodReport = await shadowReport(ctx);
    if (goodReport.report) {
      printReport(ctx, goodReport.report);
      const r = goodReport.report;
      ctx.check(`${FIXED_RELEASE}: mirrors compared, no mismatch`, r.release === FIXED_RELEASE && r.outcomes.match > 0 && r.outcomes.mismatch === 0, `release ${r.release}, match ${r.outcomes.match}, mismatch ${r.outcomes.mismatch}`);
    } else {
      ctx.check(`GET /routes/${SHADOW_ROUTE}/shadow answers`, false, goodReport.error ?? "no report");
    }
  },
};
