// The two phases that show what the coordinator is for, with the control plane polled
// live next to the users' traffic (watch.ts):
//   rollout       a new release in steps mode; the decision engine advances it step by
//                 step on the evidence isolates sync, then promotes it
//   autoRollback  a new release turns bad under load (30% HTTP 500, which users see);
//                 the engine rolls it back on its own and every isolate follows
// Both read only what an operator can read: GET /__canary/api/status and /events.
import type { AuditEvent } from "../../src/core/admin-protocol.js";
import { EventFeed } from "./admin.js";
import { routeOf, withRelease, type DemoSteps } from "./config.js";
import type { DemoContext, Phase } from "./context.js";
import { num, pct, relative, secs } from "./print.js";
import { printWindow } from "./report.js";
import { summarize, type WindowStats } from "./traffic.js";
import { cohortMoves, driveWatching, rollbackOf } from "./watch.js";

const ROLLOUT_RELEASE = "demo-2";
const BAD_RELEASE = "demo-3";

function stepsFor(ctx: DemoContext): DemoSteps {
  return ctx.quick
    ? { weights: [10, 50, 100], minDurationSec: 3, minRequests: 50 }
    : { weights: [10, 25, 50, 100], minDurationSec: 8, minRequests: 50 };
}

function failures(s: WindowStats): string {
  return s.failed === 0 ? `${num(s.requests)} requests` : [...s.failures].map(([k, n]) => `${k} x${n}`).join(", ");
}

export const rollout: Phase = {
  title: "Stepped rollout: the engine advances a new release step by step, then promotes it",
  async run(ctx) {
    const p = ctx.print;
    const steps = stepsFor(ctx);
    const g = routeOf(ctx.parsed).guardrails;
    const feed = new EventFeed(ctx.admin, routeOf(ctx.parsed).id, p);
    await feed.prime();
    p.line(`    New release ${ROLLOUT_RELEASE} in steps mode: weights [${steps.weights.join(", ")}]%, each step at least`);
    p.line(`    ${steps.minDurationSec} s and ${steps.minRequests} canary requests. The coordinator's engine advances a step only when the`);
    p.line(`    evidence bounds the canary's error rate (below the ${pct(g.sloErrorRate, 0)} SLO) and its share of slow requests`);
    p.line(`    (above stable's p${g.latencyQuantile * 100}, within ${g.latencyRatioTolerance}x). A new release id re-salts the cohorts.`);
    p.step(`writing release ${ROLLOUT_RELEASE} (steps mode) to local KV`);
    const { putMs, convergence } = await ctx.setConfig(withRelease(ctx.config, ROLLOUT_RELEASE, { steps }));
    p.step(`KV written in ${secs(putMs)}; coordinator confirmed it, edge serving step 1 ${secs(convergence.ms)} later ${p.c.dim(`(${convergence.how})`)}`);
    const last = steps.weights.length - 1;
    const tailMs = ctx.syncMs + 1_500;
    const { stats: s, watch } = await driveWatching(ctx, feed, {
      label: `rollout ${ROLLOUT_RELEASE}`,
      weight: steps.weights[0] ?? 0,
      maxMs: ctx.seconds(150, 75),
      pollMs: 300,
      until: (w) => {
        const done = promotionOf(w.events);
        return done !== undefined && Date.now() >= done.at + tailMs;
      },
    });
    const m = summarize(s);
    p.table([
      ["requests", `${num(s.requests)} in ${secs(s.ms)} (${Math.round(m.rps)} req/s, p50 ${m.p50.toFixed(0)} ms, p95 ${m.p95.toFixed(0)} ms)`],
      ["served by", `stable ${p.c.green(num(s.served.stable))}   canary ${p.c.yellow(num(s.served.canary))}`],
      ["failed", s.failed > 0 ? p.c.red(failures(s)) : "0"],
    ]);

    // The rollout, step by step, from the audit log.
    const mine = watch.events.filter((e) => e.release === ROLLOUT_RELEASE);
    const start = mine.find((e) => e.event === "config");
    const advances = mine.filter((e) => e.event === "advance");
    let from = start?.at ?? watch.startedAt;
    const rows: Array<[string, string]> = [];
    for (const e of advances) {
      // e.step is the step advanced to, counted from 1: the step left is index e.step - 2.
      const w = steps.weights[e.toPhase === "promoted" ? last : e.step - 2];
      rows.push([`step ${w}%`, `${secs(e.at - from).padStart(6)}  ${p.c.dim(e.reason.replace(/^advance: /, ""))}`]);
      from = e.at;
    }
    if (rows.length > 0) {
      p.line(`    ${p.c.bold("steps")} (time at each weight, and the engine's reason to move on)`);
      p.table(rows, "      ");
    }

    const promoted = promotionOf(watch.events);
    ctx.check(
      `the engine promoted ${ROLLOUT_RELEASE}`,
      promoted !== undefined && promoted.actor === "engine",
      promoted ? `${secs(promoted.at - (start?.at ?? watch.startedAt))} after the coordinator confirmed it` : `phase ${watch.status?.coordinator.state?.phase ?? "?"} after ${secs(s.ms)}`,
    );
    const path = advances.map((e) => (e.toPhase === "promoted" ? "promoted" : `step ${e.step}`)).join(", ");
    const wanted = [...steps.weights.slice(1).map((_, i) => `step ${i + 2}`), "promoted"].join(", ");
    ctx.check(
      "every step in order, each advanced by the engine",
      path === wanted && advances.every((e) => e.actor === "engine"),
      path || "no advance",
    );
    ctx.check("no failed requests", s.failed === 0, failures(s));
    ctx.check("every page came from the version in x-canary-variant", s.mismatches === 0, `${s.mismatches} mismatches`);
    // Buckets are nested: raising the weight only adds users to the canary.
    const moves = cohortMoves(s);
    ctx.check(
      "users only ever moved stable -> canary (each at most once)",
      moves.toStable === 0 && moves.flappers === 0,
      `${moves.toCanary} moved to canary, ${moves.toStable} back, ${moves.flappers} more than once`,
    );
    if (promoted) {
      const cutoff = promoted.at + ctx.syncMs + 1_000;
      const after = s.timeline.filter((v) => v.at > cutoff);
      const onCanary = after.filter((v) => v.served === "canary").length;
      ctx.check(
        "one sync after promotion every request goes to the canary",
        after.length > 0 && onCanary === after.length,
        `${onCanary}/${after.length} requests sent more than ${secs(cutoff - promoted.at)} after the promotion`,
      );
    }
  },
};

function promotionOf(events: readonly AuditEvent[]): AuditEvent | undefined {
  return events.find((e) => e.release === ROLLOUT_RELEASE && e.toPhase === "promoted");
}

export const autoRollback: Phase = {
  title: "Automatic rollback: a bad release is pulled by the engine, no human involved",
  async run(ctx) {
    const p = ctx.print;
    const { stable, canary } = ctx.origins;
    const feed = new EventFeed(ctx.admin, routeOf(ctx.parsed).id, p);
    await feed.prime();
    const weight = 30;
    p.line(`    (In real life the promoted build would now be the stable origin; here the two origins stay as they are.)`);
    p.step(`writing release ${BAD_RELEASE} at manual weight ${weight}% to local KV`);
    const { putMs, convergence } = await ctx.setConfig(withRelease(ctx.config, BAD_RELEASE, { weight }));
    p.step(`KV written in ${secs(putMs)}; edge serving ${weight}% ${secs(convergence.ms)} later ${p.c.dim(`(${convergence.how})`)}`);

    // 1. Healthy for a few seconds: the engine holds (manual mode never advances).
    const healthy = await driveWatching(ctx, feed, { label: `${BAD_RELEASE} healthy`, weight, maxMs: ctx.seconds(8, 4) });
    ctx.check("healthy: no failed requests, no rollback", healthy.stats.failed === 0 && !rollbackOf(healthy.watch.events, BAD_RELEASE), failures(healthy.stats));

    // 2. The canary turns bad. 500 is not a fallback status: users get the error.
    const onset = Date.now();
    await ctx.setOriginMode(canary, { failRate: 0.3, failStatus: 500 });
    await ctx.setOriginMode(stable, { failRate: 0.01, failStatus: 500 });
    p.step(
      `${p.c.red("onset")}: canary origin fails 30% of requests with HTTP 500, stable 1% (a realistic baseline). ` +
        `500 is not a fallback status, so users see these errors.`,
    );
    const tailMs = ctx.syncMs + 1_500;
    let bad: Awaited<ReturnType<typeof driveWatching>>;
    try {
      bad = await driveWatching(ctx, feed, {
        label: `${BAD_RELEASE} bad`,
        weight,
        maxMs: ctx.seconds(30, 20),
        until: (w) => {
          const rb = rollbackOf(w.events, BAD_RELEASE);
          return rb !== undefined && Date.now() >= rb.at + tailMs;
        },
      });
    } finally {
      await ctx.setOriginMode(canary, { failRate: 0 });
      await ctx.setOriginMode(stable, { failRate: 0 });
    }
    const s = bad.stats;
    const rb = rollbackOf(bad.watch.events, BAD_RELEASE);
    const fromCanary = s.timeline.filter((v) => !v.ok && v.served === "canary").length;
    const fromStable = s.timeline.filter((v) => !v.ok && v.served === "stable").length;
    const canaryVisits = s.timeline.filter((v) => v.served === "canary");
    const lastCanary = Math.max(onset, ...canaryVisits.map((v) => v.at));
    const rows: Array<[string, string]> = [
      ["requests", `${num(s.requests)} in ${secs(s.ms)}; errors users saw: ${p.c.red(num(fromCanary))} from the canary, ${num(fromStable)} from stable's baseline`],
    ];
    if (rb) {
      rows.push(
        ["rollback decided", `${p.c.bold(secs(rb.at - onset))} after onset (audit #${rb.id}, actor ${rb.actor})`],
        ["last canary request", `sent ${p.c.bold(secs(lastCanary - onset))} after onset, ${relative(lastCanary - rb.at)} the decision; all users on stable from then on`],
        ["reason", p.c.dim(rb.reason)],
      );
    }
    p.table(rows);
    const limitMs = 15_000;
    ctx.check(
      `the engine rolled ${BAD_RELEASE} back within ${secs(limitMs)} of onset`,
      rb !== undefined && rb.actor === "engine" && rb.at - onset <= limitMs,
      rb ? `${rb.actor}, ${secs(rb.at - onset)}` : `no rollback in ${secs(s.ms)}`,
    );
    if (rb) {
      const cutoff = rb.at + ctx.syncMs + 1_000;
      const late = canaryVisits.filter((v) => v.at > cutoff).length;
      ctx.check(
        "one sync after the decision every request goes to stable",
        late === 0,
        `${late} requests sent more than ${secs(cutoff - rb.at)} after the decision reached the canary`,
      );
    }
    const moves = cohortMoves(s);
    ctx.check("users only moved canary -> stable", moves.toCanary === 0 && moves.flappers === 0, `${moves.toStable} moved to stable, ${moves.toCanary} to canary, ${moves.flappers} more than once`);

    // 3. Afterwards: both origins healthy again, the release stays rolled back.
    p.step("both origins healthy again; the release stays rolled back until a new release id (or an operator's resume)");
    // Until every simulated user has been seen at least once (and at least minMs).
    const minMs = ctx.seconds(6, 3);
    const after = await driveWatching(ctx, feed, {
      label: "after rollback",
      weight: 0,
      maxMs: ctx.seconds(20, 15),
      until: (w, st) => Date.now() - w.startedAt >= minMs && st.users.size >= ctx.traffic.users.length,
    });
    const a = after.stats;
    const am = summarize(a);
    printWindow(p, a);
    const phase = after.watch.status?.coordinator.state?.phase;
    ctx.check("rollout state is rolled_back, served weight 0%", phase === "rolled_back" && after.watch.status?.coordinator.effectiveWeight === 0, `phase ${phase ?? "?"}, weight ${after.watch.status?.coordinator.effectiveWeight ?? "?"}%`);
    ctx.check(
      "afterwards every user is on stable",
      a.served.canary === 0 && a.cohortRequests.canary === 0 && am.usersSeen === ctx.traffic.users.length,
      `${am.usersSeen - am.canaryUsers}/${am.usersSeen} users seen on stable of ${ctx.traffic.users.length}; ${a.served.canary} requests served by canary`,
    );
    ctx.check("afterwards no failed requests", a.failed === 0, failures(a));
  },
};
