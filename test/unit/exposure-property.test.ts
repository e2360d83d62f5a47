// The exposure-monotonicity property over random plans and random requests: a request
// that gets the canary at step k gets it at step k+1 (exposure only grows along the
// plan), a rollback takes every request back to stable at once, and the request path's
// short-circuiting decision (decideRings) equals the rule stated plainly. Plans are
// drawn valid by the schema (shadow stages first, ring stages with random audiences,
// stages of everyone strictly increasing) and parsed by it; requests draw random segment
// memberships, colo, continent and bucket. Seeded, so a failure names its case.
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import { CONTINENTS, type ConfigInput, type RouteConfig } from "../../src/core/config/schema.js";
import { effectiveRings, effectiveWeight } from "../../src/core/rollout/effective-weight.js";
import { planOf, stageLabel, type Ring } from "../../src/core/rollout/plan.js";
import type { Phase, RolloutState } from "../../src/core/rollout/state.js";
import { compiledSegments, decideRings, SegmentEvaluation, type RingDecision } from "../../src/core/segments/segment-match.js";
import { createRandom, type Random } from "../../src/core/stats/prng.js";
import { facts, sources } from "../support/segment-fixtures.js";

const SEGMENTS = ["s0", "s1", "s2", "s3", "s4"];
const COLOS = ["AKL", "SYD", "FRA", "IAD", "NRT"];
const PLANS = 400;
const REQUESTS = 40;

const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const subset = <T>(rnd: Random, xs: readonly T[], p: number): T[] => xs.filter(() => rnd() < p);
/** A percent on the 0.01 grid, in (0, 100]. */
const percent = (rnd: Random): number => pick(rnd, [0.01, 0.5, 1, 5, 10, 25, 50, 75, 100, Math.max(0.01, Math.round(rnd() * 10_000) / 100)]);

type StageInput = NonNullable<NonNullable<ConfigInput["routes"][number]["steps"]>["stages"]>[number];

function randomPlan(rnd: Random): StageInput[] {
  const stages: StageInput[] = [];
  const shadows = Math.floor(rnd() * 2);
  for (let i = 0; i < shadows; i++) stages.push({ shadow: { percent: percent(rnd) } });
  const live = 1 + Math.floor(rnd() * 7);
  let everyone = 0;
  for (let i = 0; i < live; i++) {
    if (rnd() < 0.55) {
      let segments = subset(rnd, SEGMENTS, 0.3);
      const colos = subset(rnd, COLOS, 0.15);
      const continents = subset(rnd, CONTINENTS, 0.1);
      if (segments.length + colos.length + continents.length === 0) segments = [pick(rnd, SEGMENTS)];
      stages.push({ percent: percent(rnd), ...(segments.length ? { segments } : {}), ...(colos.length ? { colos } : {}), ...(continents.length ? { continents } : {}) });
    } else if (everyone < 100) {
      const next = Math.min(100, Math.round((everyone + 0.01 + rnd() * (100 - everyone)) * 100) / 100);
      if (next <= everyone) continue;
      everyone = next;
      stages.push({ percent: everyone });
    }
  }
  if (!stages.some((s) => !("shadow" in s))) stages.push({ percent: 100 });
  return stages;
}

function routeOf(stages: StageInput[]): { route: RouteConfig; config: ReturnType<typeof parse> } {
  const config = parse({
    version: 1,
    segments: Object.fromEntries(SEGMENTS.map((s) => [s, { header: `x-${s}`, equals: "1", trusted: true }])),
    routes: [{ id: "prop", stable: { origin: "http://127.0.0.1:1" }, canary: { origin: "http://127.0.0.1:2" }, release: "r1", steps: { stages } }],
  });
  return { route: config.routes[0]!, config };
}

function parse(doc: ConfigInput) {
  const parsed = validateConfig(doc);
  if (!parsed.ok) throw new Error(`plan not valid by the schema: ${parsed.error.join("; ")}\n${JSON.stringify(doc)}`);
  return parsed.value;
}

function state(route: RouteConfig, phase: Phase, stepIndex: number): RolloutState {
  const plan = planOf(route);
  return {
    routeId: route.id,
    release: route.release,
    mode: "steps",
    phase,
    stepIndex,
    stepStartedAt: 0,
    epoch: 1,
    configHash: "h",
    weights: plan.map(() => 0),
    stages: plan.map(stageLabel),
    lastChange: { at: 0, actor: "engine", event: "advance", reason: "property" },
  };
}

interface Req {
  headers: Record<string, string>;
  cf: { colo: string; continent: string };
  bucket: number;
  members: Set<string>;
}

function randomRequest(rnd: Random): Req {
  const members = new Set(subset(rnd, SEGMENTS, 0.3));
  const headers = Object.fromEntries([...members].map((s) => [`x-${s}`, "1"]));
  // Buckets near the edges of the shares are where an off-by-one would show.
  const bucket = rnd() < 0.2 ? pick(rnd, [0, 1, 99, 100, 499, 500, 4999, 5000, 9999]) : Math.floor(rnd() * 10_000);
  return { headers, cf: { colo: pick(rnd, COLOS), continent: pick(rnd, CONTINENTS) }, bucket, members };
}

function inAudience(r: Ring, q: Req): boolean {
  return r.audience.segments.some((s) => q.members.has(s)) || r.audience.colos.includes(q.cf.colo) || (r.audience.continents as readonly string[]).includes(q.cf.continent);
}

/** The rule as the issue states it, with no short-circuit. */
function plainRule(everyone: number, rings: readonly Ring[], q: Req): RingDecision {
  const mine = rings.filter((r) => inAudience(r, q));
  return { canary: q.bucket < Math.round(everyone * 100) || mine.some((r) => q.bucket < Math.round(r.percent * 100)), ring: mine[0]?.key };
}

function decide(config: ReturnType<typeof parse>, route: RouteConfig, st: RolloutState, q: Req): RingDecision {
  const ev = new SegmentEvaluation(compiledSegments(config), facts({ headers: q.headers, cf: q.cf }), sources());
  const d = decideRings(ev, effectiveRings(route, st), effectiveWeight(route, st), q.bucket);
  if (d instanceof Promise) throw new Error("header and cf segments must decide synchronously");
  return d;
}

describe("exposure along a plan (property)", () => {
  it(`canary at step k stays canary at step k+1, rollback serves stable, over ${PLANS} plans x ${REQUESTS} requests`, () => {
    const rnd = createRandom(0x5e9);
    let checked = 0;
    let canaries = 0;
    let ringStages = 0;
    for (let p = 0; p < PLANS; p++) {
      const stages = randomPlan(rnd);
      const { route, config } = routeOf(stages);
      const plan = planOf(route);
      ringStages += plan.filter((s) => s.kind === "live" && s.audience).length;
      for (let n = 0; n < REQUESTS; n++) {
        const q = randomRequest(rnd);
        let before: RingDecision | undefined;
        for (let k = 0; k < plan.length; k++) {
          const st = state(route, "progressing", k);
          const d = decide(config, route, st, q);
          const where = `plan ${p} ${JSON.stringify(stages)} step ${k} request ${JSON.stringify({ ...q, members: [...q.members] })}`;
          expect(d, where).toEqual(plainRule(effectiveWeight(route, st), effectiveRings(route, st), q));
          expect(decide(config, route, state(route, "paused", k), q), where).toEqual(d);
          if (before?.canary) expect(d.canary, where).toBe(true);
          // A ring once named keeps its place: the attribution never moves to a later ring.
          if (before?.ring !== undefined) expect(d.ring, where).toBe(before.ring);
          if (d.canary) canaries++;
          before = d;
          checked++;
        }
        for (const phase of ["rolled_back", "idle"] as const) {
          const back = decide(config, route, state(route, phase, plan.length - 1), q);
          expect(back, `${phase} plan ${p}`).toEqual({ canary: false, ring: undefined });
        }
        expect(decide(config, route, state(route, "promoted", plan.length - 1), q).canary).toBe(true);
      }
    }
    // The draw exercised what it claims: many steps, ring stages, both variants.
    expect(checked).toBeGreaterThan(PLANS * REQUESTS * 2);
    expect(ringStages).toBeGreaterThan(PLANS);
    expect(canaries).toBeGreaterThan(checked / 10);
    expect(canaries).toBeLessThan(checked);
  });
});
