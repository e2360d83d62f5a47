// The KV config document: one zod schema is the single source for the TypeScript
// types, the validator the Worker runs, the CLI's `validate`, and the shipped JSON
// Schema (scripts/checks/gen-schema.ts). Strict objects everywhere: a typo is an error,
// never a silently ignored field.
import * as z from "zod";
import { GuardrailsSchema } from "../stats/guardrails.js";
import { checkHostPattern } from "./host-pattern.js";
import { checkHttpUrl } from "./origin-url.js";
import { checkPathPrefix } from "./path-prefix.js";

/**
 * Wires a pure check (raw string in, normalised value or message out) into a string
 * schema: a check that rewrites the value, which JSON Schema generation skips like a
 * refine (a transform would drop the field's default from the generated schema).
 */
const normalised =
  (check: (raw: string) => { ok: true; value: string } | { ok: false; error: string }) =>
  (ctx: z.core.ParsePayload<string>): void => {
    if (ctx.issues.length > 0) return;
    const result = check(ctx.value);
    if (result.ok) ctx.value = result.value;
    else ctx.issues.push({ code: "custom", message: result.error, input: ctx.value });
  };

/** Weights are percentages with 0.01 resolution, matching the 10,000 buckets. */
const weight = z
  .number()
  .min(0, { error: "must be between 0 and 100" })
  .max(100, { error: "must be between 0 and 100" })
  .refine((w) => Math.abs(Math.round(w * 100) - w * 100) < 1e-6, { error: "must be a multiple of 0.01" });

const idPattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const releasePattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const tokenName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

export const OriginSchema = z.strictObject({
  origin: z
    .string()
    .check(normalised(checkHttpUrl))
    .describe("Base URL of the origin; a path here is a prefix put before the request path. Stored as the URL parser reads it (trimmed, punycode host)."),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe("Time to wait for the origin's response headers, in ms."),
});

export const MatchSchema = z
  .strictObject({
    hosts: z
      .array(z.string().min(1).max(253).check(normalised(checkHostPattern)))
      .default([])
      .describe("Hostnames this route serves, without port; `*.example.com` matches any subdomain but not example.com itself; empty matches any host."),
    pathPrefix: z
      .string()
      .startsWith("/", { error: "must start with /" })
      .check(normalised(checkPathPrefix))
      .default("/")
      .describe("Path prefix this route serves, matched on segment boundaries; stored percent-encoded, no ., .. or empty segments."),
  })
  .prefault({});

/** A live stage: this share of users is served by the canary. */
const LiveStageSchema = z
  .strictObject({ percent: weight.refine((w) => w > 0, { error: "must be above 0" }).describe("Canary weight of the stage, percent.") })
  .describe("Live stage: this share of users (by cohort) is served by the canary.");

/** A shadow stage: this share of requests is mirrored to the canary; every user is served by stable. */
const ShadowStageSchema = z
  .strictObject({
    shadow: z.strictObject({
      percent: weight.refine((w) => w > 0, { error: "must be above 0" }).describe("Share of users (by cohort) whose requests are mirrored, percent."),
    }),
  })
  .describe("Shadow stage: requests of this share of users are mirrored to the canary and its answers compared (route.shadow); users are served by stable.");

export const StageSchema = z.union([LiveStageSchema, ShadowStageSchema], {
  error: 'must be one stage: live { "percent": 5 } or shadow { "shadow": { "percent": 10 } } (one key, nothing else)',
});

export const StepsSchema = z
  .strictObject({
    weights: z
      .array(weight.refine((w) => w > 0, { error: "must be above 0" }))
      .min(1)
      .max(50)
      .refine((ws) => ws.every((w, i) => i === 0 || w > ws[i - 1]!), { error: "must be strictly increasing" })
      .optional()
      .describe("Canary weight of each step, e.g. [1, 5, 25, 50, 100]: shorthand for stages of { percent } each."),
    stages: z
      .array(StageSchema)
      .min(1)
      .max(50)
      .superRefine(checkStageOrder)
      .optional()
      .describe("The release plan, in order: shadow stages ({ shadow: { percent } }) first, then live stages ({ percent }, strictly increasing). Use instead of weights."),
    minDurationSec: z
      .number()
      .min(1)
      .max(86_400)
      .default(60)
      .describe("Minimum time a step lasts before it may advance, in seconds."),
    minRequests: z
      .number()
      .int()
      .min(0)
      .default(200)
      .describe("Minimum canary requests seen in a step before it may advance (in a shadow stage: compared mirrors)."),
  })
  .refine((s) => (s.weights === undefined) !== (s.stages === undefined), { error: "needs exactly one of weights or stages" })
  .describe("Steps mode: the coordinator advances through the plan's stages and promotes at the end.");

/** Shadow stages come first; live stages' weights strictly increase. */
function checkStageOrder(stages: ReadonlyArray<z.output<typeof StageSchema>>, ctx: z.core.$RefinementCtx<unknown>): void {
  let lastLive = 0;
  let seenLive = false;
  stages.forEach((stage, i) => {
    if ("shadow" in stage) {
      if (seenLive) ctx.addIssue({ code: "custom", path: [i], message: "shadow stages must come before every live stage" });
      return;
    }
    if (stage.percent <= lastLive) ctx.addIssue({ code: "custom", path: [i, "percent"], message: "live stages must be strictly increasing" });
    lastLive = stage.percent;
    seenLive = true;
  });
}

const headerName = z.string().regex(tokenName, { error: "must be a header name" }).check(normalised((h) => ({ ok: true, value: h.toLowerCase() })));
/** A JSON path to ignore: dot-separated keys, `*` for any key or array index (items.*.updatedAt). */
const jsonPath = z.string().regex(/^(\*|[^.*]+)(\.(\*|[^.*]+))*$/, { error: "must be dot-separated keys, * for any key or index (e.g. items.*.updatedAt)" });

export const ShadowSchema = z
  .strictObject({
    compare: z
      .enum(["status", "headers", "body", "json"])
      .default("status")
      .describe("What must agree: status (same status class), headers (status and the listed headers), body (those and the exact body, by streaming hash), json (those and the parsed JSON body, less ignored paths, numbers within tolerance)."),
    headers: z.array(headerName).max(32).default([]).describe("Response headers compared (compare headers, body or json), e.g. content-type."),
    ignore: z.array(jsonPath).max(64).default([]).describe("JSON paths left out of the json comparison (timestamps, request ids)."),
    numericTolerance: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("Relative difference under which two JSON numbers are equal (json comparison), e.g. 0.001."),
    methods: z
      .array(z.string().regex(/^[A-Z]{1,16}$/, { error: "must be an upper-case HTTP method" }))
      .max(16)
      .default(["GET", "HEAD"])
      .describe("Methods mirrored. Only bodiless GET and HEAD by default: a listed POST or PUT is performed by the canary too (it sees x-canary-shadow: 1)."),
    maxBodyBytes: z
      .number()
      .int()
      .min(0)
      .max(10 * 1024 * 1024)
      .default(1024 * 1024)
      .describe("Largest body compared (and request body mirrored); a larger response compares status and headers only (outcome skipped)."),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(32)
      .describe("Mirrors in flight per isolate; beyond it a request is not mirrored."),
    maxMismatchRate: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.01)
      .describe("Mismatch rate a shadow stage tolerates; the engine fails the stage when its evidence shows a higher rate."),
    latencyPairs: z
      .number()
      .min(0)
      .max(1)
      .default(0.25)
      .describe(
        "Share of mirrored bodiless GET and HEAD requests also sent to stable, at the same moment as the canary mirror (both x-canary-shadow: 1), to time the two fairly; only these pairs feed the shadow latency tests. Stable gets this share of the mirrored requests once more; 0 turns the shadow latency tests off (errors and mismatches still judge the stage).",
      ),
    latencyTolerance: z
      .number()
      .min(1)
      .max(10)
      .default(1.1)
      .describe("Ratio the canary's time is divided by before it is compared with stable's in a shadow stage: with 1.1, a canary up to 10% slower per request is not counted as slower."),
  })
  .prefault({})
  .describe("Shadow stages: what is mirrored and how the canary's answers are compared with stable's.");

export const StickinessSchema = z
  .strictObject({
    source: z
      .enum(["own-cookie", "cookie", "header"])
      .default("own-cookie")
      .describe("Where the user identity comes from."),
    name: z
      .string()
      .regex(tokenName, { error: "must be a cookie or header name" })
      .optional()
      .describe("Cookie or header that carries the app's own user id (sources cookie and header)."),
    cookieName: z
      .string()
      .regex(tokenName, { error: "must be a cookie name" })
      .default("canary_id")
      .describe("Cookie edge-canary mints when no identity is present."),
    maxAgeSec: z
      .number()
      .int()
      .min(60)
      .max(400 * 86_400)
      .default(30 * 86_400)
      .describe("Max-Age of the minted cookie, in seconds."),
    secure: z
      .union([z.literal("auto"), z.boolean()])
      .default("auto")
      .describe("Secure attribute of the minted cookie: auto = when the request came over https."),
    domain: z
      .string()
      .regex(/^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, { error: "must be a lower-case domain like example.com" })
      .max(253)
      .transform((d) => d.replace(/^\./, ""))
      .optional()
      .describe("Domain attribute of the minted cookie, so subdomains share one identity (e.g. example.com). Default: host-only."),
  })
  .refine((s) => s.source === "own-cookie" || s.name !== undefined, {
    error: "is required when source is cookie or header",
    path: ["name"],
  })
  .prefault({});

export const OverrideSchema = z
  .strictObject({
    header: z
      .string()
      .regex(tokenName)
      .default("x-canary-override")
      .describe("Request header that can carry a signed QA override token."),
    cookie: z
      .string()
      .regex(tokenName)
      .default("canary_override")
      .describe("Cookie that can carry a signed QA override token."),
  })
  .prefault({})
  .describe("QA override: honoured only when signed with the OVERRIDE_SECRET Worker secret.");

const country = z.string().regex(/^[A-Z]{2}$/, { error: "must be an ISO 3166-1 alpha-2 code like DE" });

export const CountriesSchema = z
  .strictObject({
    allow: z.array(country).optional().describe("Only these countries may get the canary."),
    deny: z.array(country).optional().describe("These countries never get the canary."),
  })
  .describe("Country filter from request.cf.country; a filtered request goes to stable.");

export const FallbackSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Retry failed idempotent canary requests on stable."),
    onStatus: z
      .array(z.number().int().min(400).max(599))
      .default([502, 503, 504])
      .describe("Canary statuses that count as failed and are retried."),
  })
  .prefault({});

export const RouteSchema = z.strictObject({
  id: z
    .string()
    .regex(idPattern, { error: "must be 1-63 chars of a-z, 0-9, - and _" })
    .describe("Route id; names the rollout and its coordinator."),
  match: MatchSchema,
  stable: OriginSchema,
  canary: OriginSchema,
  release: z
    .string()
    .regex(releasePattern, { error: "must be 1-64 chars of A-Z, a-z, 0-9, ., _, : and -" })
    .describe("Canary release id. A new id re-salts the cohorts and starts a new rollout."),
  weight: weight.default(0).describe("Manual mode canary weight in percent, 0-100 in steps of 0.01."),
  steps: StepsSchema.optional(),
  sticky: StickinessSchema,
  override: OverrideSchema,
  countries: CountriesSchema.optional(),
  fallback: FallbackSchema,
  shadow: ShadowSchema,
  guardrails: GuardrailsSchema,
  exposeHeaders: z
    .boolean()
    .default(true)
    .describe("Add x-canary-variant and x-canary-release to responses."),
});

export const SyncSchema = z
  .strictObject({
    intervalMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(1000)
      .describe("How often each isolate syncs evidence and state with a route's coordinator, in ms."),
    staleAfterMs: z
      .number()
      .int()
      .min(1000)
      .max(3_600_000)
      .default(30_000)
      .describe("Without a successful sync for this long, an isolate serves stable only (fail-safe), in ms."),
    coldWaitMs: z
      .number()
      .int()
      .min(0)
      .max(5000)
      .default(500)
      .describe("How long a cold isolate waits for its first sync before serving stable, in ms."),
  })
  .prefault({})
  .describe("Isolate <-> coordinator sync settings.");

export const NotifySchema = z
  .strictObject({
    webhook: z
      .string()
      .check(normalised(checkHttpUrl))
      .optional()
      .describe("URL that receives every rollout decision as JSON (Slack-compatible `text` plus an `edge_canary` object)."),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(6)
      .describe("Delivery attempts per notification, with exponential backoff from 1 s."),
  })
  .prefault({})
  .describe("Notifications of rollout decisions (rollback, promotion, step, pause, resume, new release).");

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema reference for editors; ignored."),
    version: z.literal(1).describe("Config format version; must be 1."),
    sync: SyncSchema,
    notify: NotifySchema,
    routes: z.array(RouteSchema).min(1).max(100),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.routes.forEach((route, i) => {
      const first = seen.get(route.id);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["routes", i, "id"], message: `duplicates routes[${first}].id "${route.id}"` });
      } else {
        seen.set(route.id, i);
      }
    });
  });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type RouteConfig = Config["routes"][number];
export type OriginConfig = RouteConfig["stable"];
export type SyncConfig = Config["sync"];
export type NotifyConfig = Config["notify"];
export type Variant = "stable" | "canary";
export type StageConfig = z.output<typeof StageSchema>;
export type ShadowConfig = RouteConfig["shadow"];
