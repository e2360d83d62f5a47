// The demo's scenarios, one Phase each. scripts/demo.ts lists them in order; a new
// scenario is a new Phase here (or in its own file) added to that list.
//   split       weight 20: the split follows the weight, cohorts are sticky
//   rampUp      weight 50 written to KV: the split follows, users move only stable -> canary
//   canaryDown  canary origin returns 503: GETs keep succeeding through fallback
//   whereNext   pointers to the rest of the project
import { routeOf, withWeight } from "./config.js";
import { expectedCohort } from "./convergence.js";
import type { DemoContext, Phase } from "./context.js";
import { num, pct, secs } from "./print.js";
import { splitTolerance, summarize, type WindowStats } from "./traffic.js";

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
  title: "Canary origin down: GETs fall back to stable",
  async run(ctx) {
    const canary = ctx.origins.canary;
    await ctx.setOriginMode(canary, { failRate: 1, failStatus: 503 });
    const hitsBefore = canary.requests;
    ctx.print.step(`canary origin ${canary.url} now answers every request with 503 (POST /__origin/mode {failRate: 1, failStatus: 503})`);
    let s: WindowStats;
    try {
      s = await ctx.drive("canary down", ctx.seconds(20, 6));
    } finally {
      await ctx.setOriginMode(canary, { failRate: 0 });
    }
    const m = summarize(s);
    const canaryHits = canary.requests - hitsBefore;
    ctx.print.line(
      `    the canary origin saw ${num(canaryHits)} requests and failed them all; users saw ${num(s.failed)} failures.`,
    );
    commonChecks(ctx, s);
    ctx.check("canary cohort requests all served by stable with x-canary-fallback: 1", s.fallbacks === s.cohortRequests.canary && s.fallbacks > 0, `${num(s.fallbacks)} fallbacks, ${num(s.cohortRequests.canary)} canary-cohort requests, ${num(s.served.canary)} served by canary`);
    ctx.check("cohorts unchanged while the canary is down", m.movedToCanary === 0 && m.movedToStable === 0, `${m.movedToCanary + m.movedToStable} moved`);
    ctx.print.step("canary origin healthy again (failRate 0)");
  },
};

export const whereNext: Phase = {
  title: "Where to look next",
  async run(ctx) {
    const p = ctx.print;
    p.table([
      ["config format", "src/core/config/schema.ts (zod; defaults applied by src/core/config/parse.ts)"],
      ["push a config", "npx wrangler kv key put --binding CANARY_CONFIG config --path config.json --local"],
      ["run it yourself", "npm run dev   (wrangler dev; put a config first, origins from scripts/lib/origin-server.ts)"],
      ["request path", "src/edge/handle-request.ts (cohorts in src/core/bucket.ts, fallback in proxy())"],
      ["tests", "npm test"],
      ["admin API / dashboard", p.c.dim("coming (under /__canary; this demo starts the Worker with ADMIN_TOKEN=demo-token)")],
      ["stepped rollout", p.c.dim("coming (steps mode, coordinator Durable Object)")],
      ["automatic rollback", p.c.dim("coming (coordinator decides from error rates)")],
      ["wrangler dev log", `${ctx.paths.devLog} ${p.c.dim("(kept only when a check fails)")}`],
    ]);
  },
};
