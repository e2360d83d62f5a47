// The demo's KV config document: one route `www` in front of the two local origins.
// Every document is validated with the Worker's own parser before it goes to KV, so
// a mistake shows up here with a field path instead of as a Worker 503.
// Two settings are sized for a demo rather than production (docs/demo.md says why):
//   sync.intervalMs 500   isolates hear a coordinator decision within half a second
//   DEMO_GUARDRAILS       a few hundred requests per step are enough to advance
import { writeFile } from "node:fs/promises";
import { parseConfig } from "../../src/core/config/parse.js";
import type { Config, ConfigInput, StageConfig } from "../../src/core/config/schema.js";
import { liveWeight, planOf } from "../../src/core/rollout/plan.js";
import type { GuardrailsInput } from "../../src/core/stats/guardrails.js";

export const DEMO_ROUTE = "www";
export const DEMO_RELEASE = "demo-1";
/** How often each isolate syncs with the route's coordinator. */
export const DEMO_SYNC_MS = 500;

/**
 * Guardrails that let a step advance on a few hundred requests of 200 simulated users
 * at 50+ req/s. Defaults in src/core/stats/guardrails.ts; what each loosening buys:
 *  - sloErrorRate 0.1: with zero canary errors, "error rate bounded below the SLO" needs
 *    about 4.6/sloErrorRate canary requests (46 here; 4,600 with the default 0.001).
 *  - latencyQuantile 0.5, latencyRatioTolerance and medianRatioTolerance 1.5: "requests
 *    slower than stable's median" happen every other request, so both latency tests
 *    gather evidence from a few hundred requests (at the default p99 and 1.1x/1.05x:
 *    thousands).
 *  - stepTargetSec 10: the engine states each promotion against the smallest ratio the
 *    demo's traffic can confirm within 10 s, not 300 s, so a step takes seconds; the
 *    audit entry names the ratio ruled out.
 *  - srmTolerance 0.75: 200 users is a small sample. At weight 10% the canary holds
 *    20 +- 4 users, a +-20% relative wobble in the request share that the default 0.1
 *    would (rightly, on real traffic) hold as a sample-ratio mismatch forever in ~64%
 *    of runs; 0.75 leaves 0.04% (binomial, 200 users). Hence also no 5% first step.
 * The rollback side is left at its defaults (alpha 0.01, error ratio tolerance 1).
 */
export const DEMO_GUARDRAILS: GuardrailsInput = {
  sloErrorRate: 0.1,
  latencyQuantile: 0.5,
  latencyRatioTolerance: 1.5,
  medianRatioTolerance: 1.5,
  stepTargetSec: 10,
  srmTolerance: 0.75,
};

export type DemoSteps = { weights: number[]; minDurationSec: number; minRequests: number };

export function demoConfig(stableUrl: string, canaryUrl: string, weight: number, release = DEMO_RELEASE): ConfigInput {
  return {
    version: 1,
    sync: { intervalMs: DEMO_SYNC_MS },
    routes: [
      {
        id: DEMO_ROUTE,
        match: { hosts: [], pathPrefix: "/" },
        stable: { origin: stableUrl, timeoutMs: 5_000 },
        canary: { origin: canaryUrl, timeoutMs: 5_000 },
        release,
        weight,
        guardrails: DEMO_GUARDRAILS,
      },
    ],
  };
}

/** Same document with the demo route's weight changed. */
export function withWeight(config: ConfigInput, weight: number, routeId = DEMO_ROUTE): ConfigInput {
  return { ...config, routes: config.routes.map((r) => (r.id === routeId ? { ...r, weight } : r)) };
}

/** Same document with a new release id: steps mode when `steps` is given, else manual at `weight`. */
export function withRelease(
  config: ConfigInput,
  release: string,
  rollout: { weight: number } | { steps: DemoSteps },
  routeId = DEMO_ROUTE,
): ConfigInput {
  return {
    ...config,
    routes: config.routes.map((r) => {
      if (r.id !== routeId) return r;
      const { steps: _dropped, ...rest } = r;
      return "steps" in rollout ? { ...rest, release, weight: 0, steps: rollout.steps } : { ...rest, release, weight: rollout.weight };
    }),
  };
}

/** The shadow phase's route: the JSON API under /api, in front of the same two origins. */
export const SHADOW_ROUTE = "api";

/**
 * What the shadow phase compares: the parsed JSON body and its content type. requestId and
 * servedAt differ on every answer of either origin, so they are left out; anything else
 * that differs is a mismatch. Rates above maxMismatchRate (the default 1%) fail the stage.
 */
/**
 * The shadow route's comparison. latencyTolerance 1.5 (default 1.1): on these machines the
 * local canary origin answers the same requests about 1 ms (10-15%) later than stable's,
 * measured on simultaneous reference pairs, and the paired sign test rightly sees that at
 * 1.1 (docs/demo.md, "Demo-sized settings"); the demo is about answers, not that ms.
 */
export const DEMO_SHADOW = { compare: "json", headers: ["content-type"], ignore: ["requestId", "servedAt"], latencyTolerance: 1.5 } as const;

/**
 * Same document with the shadow route (id SHADOW_ROUTE, path prefix /api) at `release`
 * with plan `stages`, put before the demo route (whose "/" prefix would match /api too:
 * the first match wins).
 */
export function withShadowRoute(
  config: ConfigInput,
  release: string,
  steps: { stages: StageConfig[]; minDurationSec: number; minRequests: number },
): ConfigInput {
  const www = config.routes.find((r) => r.id === DEMO_ROUTE);
  if (!www) throw new Error(`config has no route "${DEMO_ROUTE}"`);
  const api = {
    id: SHADOW_ROUTE,
    match: { hosts: [], pathPrefix: "/api" },
    stable: www.stable,
    canary: www.canary,
    release,
    steps,
    shadow: { ...DEMO_SHADOW, headers: [...DEMO_SHADOW.headers], ignore: [...DEMO_SHADOW.ignore] },
    guardrails: DEMO_GUARDRAILS,
  };
  return { ...config, routes: [api, ...config.routes.filter((r) => r.id !== SHADOW_ROUTE)] };
}

/** Validates and writes the document; returns the parsed config (defaults applied). */
export async function writeConfigFile(file: string, config: ConfigInput): Promise<Config> {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new Error(`demo config is invalid:\n  ${parsed.error.join("\n  ")}`);
  await writeFile(file, text);
  return parsed.value;
}

export function routeOf(config: Config, routeId = DEMO_ROUTE): Config["routes"][number] {
  const route = config.routes.find((r) => r.id === routeId);
  if (!route) throw new Error(`config has no route "${routeId}"`);
  return route;
}

/** The weight a route serves once its coordinator confirms the config: step 0 in steps mode. */
export function firstWeight(route: Config["routes"][number]): number {
  return liveWeight(planOf(route)[0]);
}
