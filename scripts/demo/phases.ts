// The demo's scenarios, one Phase each. scripts/demo/main.ts lists them in order; a new
// scenario is a new Phase here (or in its own file) added to that list.
//   split       weight 20: the split follows the weight, cohorts are sticky
//   rampUp      weight 50 written to KV: the split follows, users move only stable -> canary
//   canaryDown  canary origin returns 503: GETs keep succeeding through fallback, and
//               the coordinator's engine rolls the release back on the canary's errors
//   rollout, autoRollback   in engine-phases.ts
//   shadow      in shadow-phase.ts: a shadow stage catches a bug users never see
//   whereNext   the live dashboard, CLI commands and docs
import { EventFeed } from "./admin.js";
import { routeOf, withWeight } from "./config.js";
import { expectedCohort } from "./convergence.js";
import type { DemoContext, Phase } from "./context.js";
import { num, pct, relative, secs } from "./print.js";
import { splitTolerance, summarize, type WindowStats } from "./traffic.js";
import { cohortMoves, driveWatching, rollbackOf } from "./watch.js";

/** Checks every traffic window must pass. */
function commonChecks(ctx: DemoContext, s: WindowStats): void {
  const m = summarize(s);
  ctx.check("no failed requests", s.failed === 0, s.failed === 0 ? `${num(s.requests)} requests` : [...s.failures].map(([k, n]) => `${k} x${n}`).join(", "));
  ctx.check("stickiness 100%", m.returning > 0 && m.sticky === m.returning, `${m.sticky}/${m.returning} returning users`);
  ctx.check("every page came from the version in x-canary-variant", s.mismatches === 0, `${s.mismatches} mismatches`);
  // Exact, not statistical: each user's cohort is the one its canary_id hashes to.
  const route = routeOf(ctx.parsed);
  let matching = 0;
  for (const [index, w] of s.users) {
    const id = ctx.traffic.users[index]?.jar.get(route.sticky.cookieName);
    if (id !== undefined && w.cohorts.size === 1 && w.first === expectedCohort(route, id)) matching++;
  }
  ctx.check("every user's cohort is the one its canary_id hashes to", matching === s.users.size, `${matching}/${s.users.size} users`);
}

function splitCheck(ctx: DemoContext, s: WindowStats): void {
  const m = summarize(s);
  const tol = splitTolerance(s.weight, m.usersSeen);
  const diff = Math.abs(m.canaryUserShare - s.weight / 100);
  ctx.check(
    `split follows the weight (${s.weight}%)`,
    m.usersSeen > 0 && diff <= tol,
    `canary users ${pct(m.canaryUserShare)}, allowed ${s.weight}% +/- ${(tol * 100).toFixed(1)} pts for ${m.usersSeen} users`,
  );
}

export const split: Phase = {
  title: "Weighted, sticky split at 20%",
  async run(ctx) {
    const weight = routeOf(ctx.parsed).weight;
    ctx.print.line(
      `    ${ctx.traffic.users.length} new users (no cookies yet) browse for ${secs(ctx.seconds(30, 8))}, ${ctx.traffic.concurrency} at a time. The Worker mints`,
    );
    ctx.print.line(`    a canary_id cookie for each and hashes it into a cohort: canary when its bucket is below ${weight}%.`);
    const s = await ctx.drive(`weight ${weight}`, ctx.seconds(30, 8));
    const m = summarize(s);
    commonChecks(ctx, s);
    splitCheck(ctx, s);
    ctx.check("one canary_id cookie minted per new user", s.minted === m.usersSeen, `${s.minted} cookies, ${m.usersSeen} users`);
  },
};

export const rampUp: Phase = {
  title: "Ramp up to 50%: the split follows, users only move stable -> canary",
  async run(ctx) {
    const before = routeOf(ctx.parsed).weight;
    ctx.print.step("writing weight 50 to local KV (same wrangler kv key put command)");
    const { putMs, convergence } = await ctx.setConfig(withWeight(ctx.config, 50));
    ctx.print.step(
      `KV written in ${secs(putMs)}; Worker serving it ${secs(convergence.ms)} later ` +
        ctx.print.c.dim(`(${convergence.how}; CONFIG_REFRESH_MS=${ctx.refreshMs})`),
    );
    const s = await ctx.drive(`weight ${before} -> 50`, ctx.seconds(30, 8));
    const m = summarize(s);
    commonChecks(ctx, s);
    splitCheck(ctx, s);
    ctx.check("no user moved canary -> stable", m.movedToStable === 0, `${m.movedToStable} of ${m.comparedWithBefore}`);
    ctx.check("some users moved stable -> canary", m.movedToCanary > 0, `${m.movedToCanary} of ${m.comparedWithBefore}`);
    ctx.check("no cookie re-minted for returning users", s.minted === 0, `${s.minted} minted`);
  },
};

export const canaryDown: Phase = {
  title: "Canary origin down: fallback shields users, the engine rolls the release back",
  async run(ctx) {
    const p = ctx.print;
    const canary = ctx.origins.canary;
    const route = routeOf(ctx.parsed);
    const feed = new EventFeed(ctx.admin, route.id, p);
    await feed.prime();
    const hitsBefore = canary.requests;
    const onset = Date.now();
    await ctx.setOriginMode(canary, { failRate: 1, failStatus: 503 });
    p.step(`canary origin ${canary.url} now answers every request with 503 (POST /__origin/mode {failRate: 1, failStatus: 503})`);
    p.line(`    503 is a fallback status: each canary-cohort GET is retried on stable, so users see no error. The Worker`);
    p.line(`    still counts the canary's 503 as an error in the evidence it syncs to the coordinator every ${ctx.syncMs} ms.`);
    // Runs until the rollback has reached every isolate (one sync) plus a little, so the
    // window shows users leaving the canary; ends at maxMs if the engine never acts.
    const tailMs = ctx.syncMs + 1_500;
    const minMs = ctx.seconds(8, 4);
    let run: Awaited<ReturnType<typeof driveWatching>>;
    try {
      run = await driveWatching(ctx, feed, {
        label: "canary down",
        weight: route.weight,
        maxMs: ctx.seconds(25, 15),
        until: (w) => {
          const rb = rollbackOf(w.events, route.release);
          return rb !== undefined && Date.now() >= Math.max(rb.at + tailMs, w.startedAt + minMs);
        },
      });
    } finally {
      await ctx.setOriginMode(canary, { failRate: 0 });
    }
    const { stats: s, watch } = run;
    const canaryHits = canary.requests - hitsBefore;
    const rb = rollbackOf(watch.events, route.release);
    const lastCanary = Math.max(onset, ...s.timeline.filter((v) => v.cohort === "canary").map((v) => v.at));
    const moves = cohortMoves(s);
    const m = summarize(s);
    p.table([
      ["requests", `${num(s.requests)} in ${secs(s.ms)} (${Math.round(m.rps)} req/s, p50 ${m.p50.toFixed(0)} ms, p95 ${m.p95.toFixed(0)} ms)`],
      ["served by", `stable ${p.c.green(num(s.served.stable))}   canary ${p.c.yellow(num(s.served.canary))}`],
      ["fallbacks", `${p.c.magenta(num(s.fallbacks))}: the canary origin saw ${num(canaryHits)} requests and failed them all; users saw ${num(s.failed)} failures`],
      ["rollback", rb ? `decided ${p.c.bold(secs(rb.at - onset))} after the origin went down; last canary-cohort request sent ${relative(lastCanary - rb.at)} it` : p.c.red("none")],
      ["moved", `canary->stable ${moves.toStable}, stable->canary ${moves.toCanary} (of ${s.users.size} users)`],
    ]);
    ctx.check("no failed requests (fallback)", s.failed === 0, s.failed === 0 ? `${num(s.requests)} requests` : [...s.failures].map(([k, n]) => `${k} x${n}`).join(", "));
    ctx.check("every page came from the version in x-canary-variant", s.mismatches === 0, `${s.mismatches} mismatches`);
    ctx.check(
      "canary-cohort requests all served by stable with x-canary-fallback: 1",
      s.fallbacks === s.cohortRequests.canary && s.fallbacks > 0 && s.served.canary === 0,
      `${num(s.fallbacks)} fallbacks, ${num(s.cohortRequests.canary)} canary-cohort requests, ${num(s.served.canary)} served by canary`,
    );
    ctx.check(
      `the engine rolled ${route.release} back on the canary's errors`,
      rb !== undefined && rb.actor === "engine",
      rb ? `${rb.actor}, ${secs(rb.at - onset)} after the origin went down` : `no rollback within ${secs(s.ms)}`,
    );
    if (rb) p.line(`    ${p.c.dim(`engine: ${rb.reason}`)}`);
    // Exact per user: a user whose id hashes to stable never saw the canary; a canary
    // user was served through fallback, then (after the rollback) by stable: one move.
    let consistent = 0;
    for (const [index, w] of s.users) {
      const id = ctx.traffic.users[index]?.jar.get(route.sticky.cookieName);
      if (id === undefined) continue;
      const hashed = expectedCohort(route, id);
      const ok = hashed === "stable" ? w.cohorts.size === 1 && w.first === "stable" : w.switches === 0 || (w.switches === 1 && w.first === "canary");
      if (ok) consistent++;
    }
    ctx.check("users only moved canary -> stable, once (the rollback)", consistent === s.users.size, `${consistent}/${s.users.size} users`);
    if (rb) {
      const cutoff = rb.at + ctx.syncMs + 1_000;
      const late = s.timeline.filter((v) => v.at > cutoff && v.cohort === "canary").length;
      ctx.check(
        `one sync after the rollback, no request goes to the canary`,
        late === 0,
        `${late} canary-cohort requests sent more than ${secs(cutoff - rb.at)} after the decision`,
      );
    }
    p.step(`canary origin healthy again (failRate 0); ${route.release} stays rolled back, the edge serves it 0% until a new release id`);
  },
};

export const whereNext: Phase = {
  title: "Where to look next",
  async run(ctx) {
    const p = ctx.print;
    const url = ctx.workerUrl;
    const auth = `--url ${url} --token ${ctx.adminToken}`;
    let dashboard = "";
    try {
      const res = await fetch(`${url}/__canary/?token=${ctx.adminToken}`, { redirect: "manual", signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      dashboard = res.status < 400 ? p.c.dim(`(HTTP ${res.status} just now)`) : p.c.dim(`(HTTP ${res.status}: not served by this build yet)`);
    } catch (e) {
      dashboard = p.c.dim(`(${(e as Error).message})`);
    }
    p.line(`    The demo stops this Worker when it ends; \`npm start -- --keep\` leaves it up (the port changes per run) so these work:`);
    p.table([
      ["dashboard", `${url}/__canary/?token=${ctx.adminToken} ${dashboard}`],
      ["watch it live", `npm run canary -- watch ${auth}`],
      ["audit log", `npm run canary -- events --route www ${auth}`],
      ["act on it", `npm run canary -- rollback www --reason "..." ${auth}`],
      ["shadow comparison", `npm run canary -- shadow api ${auth}   (route "api", from the shadow phase)`],
      ["raw admin API", `curl -H 'authorization: Bearer ${ctx.adminToken}' ${url}/__canary/api/status`],
      ["push a config", "npm run canary -- push config.json --local   (validates, then wrangler kv key put)"],
      ["README", "sections Rollout lifecycle, Decision engine, Admin API, Dashboard, CLI; docs/shadow.md"],
      ["by hand", "README \"Walkthrough: a canary from zero, locally\" (the same steps, one command at a time)"],
      ["guardrails", "src/core/stats/guardrails.ts (defaults), scripts/demo/config.ts (the demo's, and why)"],
      ["request path", "src/edge/handle-request.ts (cohorts in src/core/bucket.ts, fallback in proxy())"],
      ["decision engine", "src/core/stats/rollout-engine.ts (docs/decision-engine.md); npm run bench:decisions simulates it at scale"],
      ["tests", "npm test"],
      ["wrangler dev log", `${ctx.paths.devLog} ${p.c.dim("(kept only when a check fails)")}`],
    ]);
  },
};
