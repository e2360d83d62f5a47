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

const segmentName = z.string().regex(idPattern, { error: "must be a segment name: 1-63 chars of a-z, 0-9, - and _" });
/** Cloudflare data-center codes as request.cf.colo gives them (IATA airport codes). */
const colo = z.string().regex(/^[A-Z]{3}$/, { error: "must be a data-center code like AKL (request.cf.colo)" });
export const CONTINENTS = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"] as const;

/**
 * A live stage: this share of users is served by the canary, of everyone or, with an
 * audience (segments, colos, continents: a request in any of them), of that audience
 * only. Exposure accumulates along the plan (plan.ts exposureAt): an audience keeps what
 * an earlier stage gave it.
 */
const LiveStageSchema = z
  .strictObject({
    percent: weight.refine((w) => w > 0, { error: "must be above 0" }).describe("Canary weight of the stage, percent (of its audience, when it names one)."),
    segments: z.array(segmentName).min(1).max(16).optional().describe("Ring stage: only requests in one of these segments (config.segments) get this share."),
    colos: z.array(colo).min(1).max(64).optional().describe("Ring stage: only requests served by these data centers (request.cf.colo) get this share."),
    continents: z.array(z.enum(CONTINENTS)).min(1).max(7).optional().describe("Ring stage: only requests from these continents (request.cf.continent) get this share."),
  })
  .describe("Live stage: this share of users (by cohort) is served by the canary; of everyone, or of the stage's audience (segments, colos, continents) in a ring stage.");

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
      .describe(
        "The release plan, in order: shadow stages ({ shadow: { percent } }) first, then live stages: ring stages ({ segments | colos | continents, percent }) and stages of everyone ({ percent }, strictly increasing). Exposure only grows: each stage keeps what the earlier ones gave. Use instead of weights.",
      ),
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

/** Shadow stages come first; stages of everyone strictly increase (ring stages are free: exposure accumulates). */
function checkStageOrder(stages: ReadonlyArray<z.output<typeof StageSchema>>, ctx: z.core.$RefinementCtx<unknown>): void {
  let lastEveryone = 0;
  let seenLive = false;
  stages.forEach((stage, i) => {
    if ("shadow" in stage) {
      if (seenLive) ctx.addIssue({ code: "custom", path: [i], message: "shadow stages must come before every live stage" });
      return;
    }
    seenLive = true;
    if (stage.segments || stage.colos || stage.continents) return;
    if (stage.percent <= lastEveryone) ctx.addIssue({ code: "custom", path: [i, "percent"], message: "stages of everyone must be strictly increasing" });
    lastEveryone = stage.percent;
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

/** Names of Worker secrets a segment may read a JWT key from. */
const secretName = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, { error: "must be a Worker secret name like STAFF_JWT_KEY" });
/** The request.cf fields a segment can test (request.cf.asn is compared as its decimal string, isEUCountry as "1"). */
export const CF_FIELDS = ["country", "continent", "region", "regionCode", "colo", "asn", "isEUCountry"] as const;
/** Longest value a segment tests: a longer header, cookie or claim never matches. */
export const MAX_SEGMENT_VALUE = 4096;

/** A signed claim: a JWT read from a header (a `Bearer ` prefix is dropped) or a cookie, verified with a Worker secret. */
const JwtSourceSchema = z
  .strictObject({
    header: headerName.optional().describe("Request header carrying the JWT, e.g. authorization."),
    cookie: z.string().regex(tokenName, { error: "must be a cookie name" }).optional().describe("Cookie carrying the JWT."),
    secret: secretName.describe("Worker secret with the verification key: the shared secret (HS256), or a public key as JWK JSON or PEM (RS256, ES256)."),
    alg: z.enum(["HS256", "RS256", "ES256"]).default("HS256").describe("The one signing algorithm accepted; a token naming any other (or none) never matches."),
    claim: z
      .string()
      .regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, { error: "must be a claim name, dot-separated for nested claims (e.g. email)" })
      .describe("The claim the predicate's test reads, e.g. email."),
    issuer: z.string().max(512).optional().describe("Required `iss`."),
    audience: z.string().max(512).optional().describe("Required in `aud`."),
    leewaySec: z.number().int().min(0).max(600).default(60).describe("Clock skew allowed on exp and nbf, in seconds."),
  })
  .refine((j) => (j.header === undefined) !== (j.cookie === undefined), { error: "needs exactly one of header or cookie" });

const SOURCES = ["header", "cookie", "cf", "url", "identities", "identitiesKv", "jwt"] as const;
const TESTS = ["equals", "in", "prefix", "suffix", "regex", "present"] as const;

/**
 * One predicate: a source (what the Worker reads) and a test. identities and identitiesKv
 * are their own test (the request's cohort identity is in the list). One flat object, so a
 * wrong combination gets a message that says what is wrong rather than a failed union.
 */
const predicateShape = {
    header: headerName.optional().describe("Source: a request header (unverified: needs trusted: true)."),
    cookie: z.string().regex(tokenName, { error: "must be a cookie name" }).optional().describe("Source: a cookie (unverified: needs trusted: true)."),
    cf: z.enum(CF_FIELDS).optional().describe("Source: a request.cf field, set by Cloudflare (asn as its decimal string, isEUCountry as \"1\")."),
    url: z.enum(["host", "path"]).optional().describe("Source: the request's host (no port) or path."),
    identities: z.array(z.string().min(1).max(256)).min(1).max(1000).optional().describe("The request's cohort identity (sticky) is one of these; larger lists go in KV (identitiesKv)."),
    identitiesKv: z
      .string()
      .regex(/^[A-Za-z0-9._:/-]{1,256}$/, { error: "must be a KV key" })
      .optional()
      .describe("The request's cohort identity is in the list stored under this key of CANARY_CONFIG (one identity per line, or a JSON array); read and cached like the config."),
    jwt: JwtSourceSchema.optional().describe("Source: a claim of a verified JWT."),
    equals: z.string().max(MAX_SEGMENT_VALUE).optional().describe("Test: the value is exactly this."),
    in: z.array(z.string().max(MAX_SEGMENT_VALUE)).min(1).max(1000).optional().describe("Test: the value is one of these."),
    prefix: z.string().min(1).max(MAX_SEGMENT_VALUE).optional().describe("Test: the value starts with this."),
    suffix: z.string().min(1).max(MAX_SEGMENT_VALUE).optional().describe("Test: the value ends with this (e.g. @example.com)."),
    regex: z
      .string()
      .min(1)
      .max(256)
      .refine(compiles, { error: "must be a valid JavaScript regular expression" })
      .optional()
      .describe("Test: the value matches this regular expression (unanchored: use ^ and $)."),
    present: z.literal(true).optional().describe("Test: the value is there at all."),
    trusted: z.literal(true).optional().describe("Required on header and cookie sources: says your zone sets or strips the value, since any client can send it."),
};

export const PredicateSchema = z.strictObject(predicateShape).superRefine(checkPredicate);
type PredicateFields = z.output<z.ZodObject<typeof predicateShape>>;

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function checkPredicate(p: PredicateFields, ctx: z.core.$RefinementCtx<unknown>): void {
  const sources = SOURCES.filter((k) => p[k] !== undefined);
  const tests = TESTS.filter((k) => p[k] !== undefined);
  if (sources.length !== 1) {
    ctx.addIssue({ code: "custom", path: [], message: `must name exactly one source (${SOURCES.join(", ")}); has ${sources.length === 0 ? "none" : sources.join(", ")}` });
    return;
  }
  const source = sources[0]!;
  const selfTesting = source === "identities" || source === "identitiesKv";
  if (selfTesting && tests.length > 0) ctx.addIssue({ code: "custom", path: [tests[0]!], message: `is not used with ${source} (the list is the test)` });
  if (!selfTesting && tests.length !== 1) {
    ctx.addIssue({ code: "custom", path: [], message: `must have exactly one test (${TESTS.join(", ")}); has ${tests.length === 0 ? "none" : tests.join(", ")}` });
  }
  if ((source === "header" || source === "cookie") && p.trusted !== true) {
    ctx.addIssue({
      code: "custom",
      path: ["trusted"],
      message: `is required on a ${source} predicate: any client can send a ${source}, so say trusted: true only if your zone sets or strips it (or use a signed jwt)`,
    });
  }
  if (p.trusted !== undefined && source !== "header" && source !== "cookie") {
    ctx.addIssue({ code: "custom", path: ["trusted"], message: `is only for header and cookie predicates` });
  }
}

/**
 * A named segment: one predicate, or all / any of several. Stages name segments; the
 * edge evaluates them per request (src/core/segments).
 */
export const SegmentSchema = z
  .strictObject({
    ...predicateShape,
    all: z.array(PredicateSchema).min(1).max(16).optional().describe("The segment is every one of these predicates."),
    any: z.array(PredicateSchema).min(1).max(16).optional().describe("The segment is any one of these predicates."),
  })
  .superRefine((s, ctx) => {
    const combined = (s.all ? 1 : 0) + (s.any ? 1 : 0);
    if (combined === 0) return checkPredicate(s, ctx);
    const rest = Object.keys(s).filter((k) => k !== "all" && k !== "any" && (s as Record<string, unknown>)[k] !== undefined);
    if (combined > 1 || rest.length > 0) ctx.addIssue({ code: "custom", path: [], message: "must be one predicate, or { all: [...] }, or { any: [...] }, nothing else" });
  })
  .describe("A named audience: one predicate (a source and a test), or { all: [...] } / { any: [...] } of predicates.");

export const FallbackSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Retry failed idempotent canary requests on stable."),
    onStatus: z
      .array(z.number().int().min(400).max(599))
      .default([502, 503, 504])
      .describe("Canary statuses that count as failed and are retried."),
  })
  .prefault({});

const metricName = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, { error: "must be a metric name: a-z, then up to 31 of a-z, 0-9 and _" });

/** A business or browser metric and its guardrail (src/core/metrics). */
export const MetricSchema = z
  .strictObject({
    name: metricName.describe("Event name: as the origin's header, a beacon or track() sends it; js_error, lcp, inp and cls come from the injected script."),
    kind: z
      .enum(["conversion", "mean", "rate-per-user"])
      .describe("conversion: share of users with the event; mean: per-user mean of the values; rate-per-user: events per user."),
    better: z.enum(["higher", "lower"]).describe("Which direction is good for users or the business."),
    maxRelativeDrop: z.number().min(0).max(1).optional().describe("better higher: the canary may be this much lower, relatively (0.05: 5%); default 0.05."),
    maxRelativeIncrease: z.number().min(0).max(10).optional().describe("better lower: the canary may be this much higher, relatively; default 0.05."),
    mode: z.enum(["guardrail", "observe"]).default("guardrail").describe("guardrail: a canary worse than tolerated rolls back; observe: shown, never acted on."),
  })
  .superRefine((m, ctx) => {
    if (m.better === "higher" && m.maxRelativeIncrease !== undefined) ctx.addIssue({ code: "custom", path: ["maxRelativeIncrease"], message: 'is for better "lower"; use maxRelativeDrop' });
    if (m.better === "lower" && m.maxRelativeDrop !== undefined) ctx.addIssue({ code: "custom", path: ["maxRelativeDrop"], message: 'is for better "higher"; use maxRelativeIncrease' });
  })
  .describe("A metric guardrail, judged per user.");

export const MetricSourcesSchema = z
  .strictObject({
    originHeader: headerName
      .default("x-canary-metrics")
      .describe("Response header the origin sets (name=value pairs, comma-separated: quality=0.82, checkout=1); read for route.metrics and always removed before the client."),
    beacon: z.boolean().default(false).describe("Accept browser beacons (POST <ADMIN_BASE_PATH>/beacon on this route's hosts) for route.metrics; needs IDENTITY_SECRET (only verified identities count)."),
    inject: z.boolean().default(false).describe("Insert the metrics script into this route's HTML responses (implies beacon)."),
    webVitals: z.boolean().default(true).describe("The injected script reports LCP, INP and CLS (metrics lcp, inp, cls)."),
    errors: z.boolean().default(true).describe("The injected script reports uncaught errors and unhandled rejections (metric js_error)."),
    maxEventsPerUser: z.number().int().min(1).max(10_000).default(100).describe("Browser events accepted per identity per minute, per isolate; beyond, dropped and counted."),
  })
  .prefault({})
  .describe("Where route.metrics' events come from.");

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
  metrics: z
    .array(MetricSchema)
    .max(16)
    .default([])
    .refine((ms) => new Set(ms.map((m) => m.name)).size === ms.length, { error: "must not name a metric twice" })
    .describe("Business and browser metrics judged per user as guardrails (or observed), e.g. conversion must not drop more than 5%."),
  metricSources: MetricSourcesSchema,
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
    segments: z
      .record(segmentName, SegmentSchema)
      .refine((s) => Object.keys(s).length <= 64, { error: "must have at most 64 segments" })
      .default({})
      .describe("Named audiences (staff, beta testers, a country) that ring stages name: { \"staff\": { \"jwt\": {...}, \"suffix\": \"@example.com\" } }."),
    routes: z.array(RouteSchema).min(1).max(100),
  })
  .superRefine((config, ctx) => {
    config.routes.forEach((route, i) => {
      route.steps?.stages?.forEach((stage, j) => {
        if ("shadow" in stage) return;
        stage.segments?.forEach((name, k) => {
          if (!Object.hasOwn(config.segments, name)) {
            ctx.addIssue({ code: "custom", path: ["routes", i, "steps", "stages", j, "segments", k], message: `names segment "${name}", which config.segments does not define` });
          }
        });
      });
    });
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
export type SegmentConfig = z.output<typeof SegmentSchema>;
export type PredicateConfig = z.output<typeof PredicateSchema>;
export type SegmentsConfig = Config["segments"];
export type MetricConfig = z.output<typeof MetricSchema>;
export type MetricSourcesConfig = RouteConfig["metricSources"];
