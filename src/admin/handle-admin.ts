// Admin API and dashboard under ADMIN_BASE_PATH. Never proxied to an origin; every API
// route requires the ADMIN_TOKEN bearer token. Handlers throw StatusError for expected
// failures and one catch renders JSON errors. The JSON shapes are core/admin-protocol.ts.
import { boundedText } from "../core/bounded-text.js";
import { Router, StatusError, error, json, type IRequest } from "itty-router";
import {
  ADMIN_API_PATH,
  ADMIN_COMMANDS,
  MAX_REASON_LENGTH,
  type AdminCommand,
  type CommandResponse,
  type ErrorResponse,
  type EventsResponse,
  type ExplainResponse,
  type OperatorCommand,
  type ShadowReport,
  type StatusResponse,
} from "../core/admin-protocol.js";
import type { Config, RouteConfig } from "../core/config/schema.js";
import type { ConfigCache } from "../config/config-cache.js";
import type { CoordinatorClient } from "../edge/coordinator-client.js";
import { parseEventsQuery, checkParams } from "../core/admin-query.js";
import { requireToken } from "./auth.js";
import { AuthBackoff, clientOf } from "./auth-backoff.js";
import { serveDashboard } from "./dashboard.js";
import { explain, parseExplainRequest } from "./explain.js";
import type { IdentityLists } from "../edge/identity-lists.js";
import { segmentSources } from "../edge/segment-sources.js";

export interface AdminDeps {
  configCache: ConfigCache;
  /** CONFIG_REFRESH_MS, parsed (config/worker-settings.ts). */
  configRefreshMs: number;
  coordinator: CoordinatorClient;
  /** The isolate's identitiesKv lists, shared with the request path. */
  identityLists: IdentityLists;
  /** ADMIN_BASE_PATH, parsed. */
  base: string;
  now: () => number;
  randomBytes: (n: number) => Uint8Array;
}

const COMMANDS: ReadonlySet<string> = new Set(ADMIN_COMMANDS);

/** Largest accepted request body (a command's JSON is a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Every admin response: never stored by a cache or the browser (status carries the whole config). */
function noStore(response: Response): Response {
  response.headers.set("cache-control", "no-store");
  return response;
}

/** Serves one request under the admin base; `path` is its pathname as the entry already read it. */
export type AdminHandler = (request: Request, path: string, env: Env, ctx: ExecutionContext) => Promise<Response>;

/**
 * The admin handler, built once per isolate and admin base: the dashboard at the base
 * itself, then a router over everything under it whose last stage answers 404.
 */
export function createAdminHandler(deps: AdminDeps): AdminHandler {
  const api = deps.base + ADMIN_API_PATH;
  const backoff = new AuthBackoff();
  const router = Router<IRequest, [Env, ExecutionContext, string]>({
    base: deps.base,
    before: [
      async (req: IRequest, env: Env) => {
        const request = req as unknown as Request;
        const client = clientOf(request);
        const now = deps.now();
        const waitMs = backoff.retryAfterMs(client, now);
        if (waitMs > 0) return tooManyFailures(waitMs);
        await requireToken(request, env, now, { failed: () => backoff.failed(client, now), succeeded: () => backoff.succeeded(client) });
        const length = Number(request.headers.get("content-length") ?? 0);
        if (length > MAX_BODY_BYTES) throw new StatusError(413, `request body over ${MAX_BODY_BYTES} bytes (${length})`);
      },
    ],
    catch: error,
    finally: [json, noStore],
  });

  const config = async (env: Env, ctx: ExecutionContext): Promise<{ config: Config; error?: string[] }> => {
    const view = await deps.configCache.get(env.CANARY_CONFIG, deps.now(), deps.configRefreshMs, (p) => ctx.waitUntil(p));
    if (!view.config) throw new StatusError(503, `no valid config: ${(view.error?.messages ?? []).join("; ")}`);
    return { config: view.config, error: view.error?.messages };
  };
  const stub = (env: Env, routeId: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(routeId));
  const findRoute = (cfg: Config, id: string): RouteConfig => {
    const route = cfg.routes.find((r) => r.id === id);
    if (!route) throw new StatusError(404, `unknown route "${id}"`);
    return route;
  };

  router.get(`${ADMIN_API_PATH}/status`, async (req, env, ctx): Promise<StatusResponse> => {
    const params = checkParams(new URL(req.url).searchParams, [], "status");
    if (!params.ok) throw new StatusError(400, params.error);
    const { config: cfg, error: configError } = await config(env, ctx);
    const routes = await Promise.all(
      cfg.routes.map(async (route) => ({
        id: route.id,
        config: route,
        coordinator: await stub(env, route.id).status(route.id),
        isolate: deps.coordinator.status(route.id) ?? null,
      })),
    );
    return { configError: configError ?? null, sync: cfg.sync, routes };
  });

  router.get(`${ADMIN_API_PATH}/events`, async (req, env, ctx): Promise<EventsResponse> => {
    const { config: cfg } = await config(env, ctx);
    const query = parseEventsQuery(new URL(req.url).searchParams);
    if (!query.ok) throw new StatusError(400, query.error);
    const { limit, before, route: only } = query.value;
    const ids = only ? [only] : cfg.routes.map((r) => r.id);
    const lists = await Promise.all(ids.map(async (id) => (await stub(env, id).events(limit, before)).map((e) => ({ route: id, ...e }))));
    // A route removed from the config keeps its audit log; one that never had any is unknown.
    if (only && !cfg.routes.some((r) => r.id === only) && lists[0]!.length === 0) throw new StatusError(404, `unknown route "${only}"`);
    const events = lists.flat().sort((a, b) => b.at - a.at || b.id - a.id).slice(0, limit);
    return { events, next: events.length === limit && only ? events[events.length - 1]!.id : null };
  });

  // The shadow comparison of a route's current release: outcome counts, mismatch rate,
  // paired latency and the newest mismatch samples (kept by its coordinator).
  router.get(`${ADMIN_API_PATH}/routes/:id/shadow`, async (req, env, ctx): Promise<ShadowReport> => {
    const params = checkParams(new URL(req.url).searchParams, [], "shadow");
    if (!params.ok) throw new StatusError(400, params.error);
    const { config: cfg } = await config(env, ctx);
    const route = findRoute(cfg, String(req.params.id));
    return stub(env, route.id).shadow(route.id);
  });

  // What the request path would do with a described request (explain.ts).
  router.post(`${ADMIN_API_PATH}/explain`, async (req, env, ctx): Promise<ExplainResponse> => {
    const { config: cfg } = await config(env, ctx);
    const body = parseExplainRequest(await readBody(req as unknown as Request));
    const now = deps.now();
    return explain(body, {
      config: cfg,
      status: (routeId) => stub(env, routeId).status(routeId),
      sources: segmentSources(env, deps.identityLists, deps.configRefreshMs, now, ctx),
      now,
      randomBytes: deps.randomBytes,
      overrideSecret: env.OVERRIDE_SECRET,
    });
  });

  router.post(`${ADMIN_API_PATH}/routes/:id/:command`, async (req, env, ctx): Promise<CommandResponse> => {
    const { config: cfg } = await config(env, ctx);
    const route = findRoute(cfg, String(req.params.id));
    const command = String(req.params.command);
    if (!COMMANDS.has(command)) throw new StatusError(404, `unknown command "${command}"`);
    const body = await readBody(req as unknown as Request);
    const reason = body.reason;
    if (typeof reason !== "string" || reason.trim() === "" || reason.length > MAX_REASON_LENGTH) {
      throw new StatusError(400, `body must be JSON with a non-empty string field reason (at most ${MAX_REASON_LENGTH} characters)`);
    }
    let cmd: OperatorCommand;
    if (command === "step") {
      if (!Number.isInteger(body.step) || (body.step as number) < 1) throw new StatusError(400, "body field step must be a step number from 1 (steps.weights[step - 1])");
      cmd = { type: "set_step", stepIndex: (body.step as number) - 1, reason: reason.trim() };
    } else {
      cmd = { type: command as Exclude<AdminCommand, "step">, reason: reason.trim() };
    }
    const result = await stub(env, route.id).command(route.id, cmd);
    if (!result.ok) throw new StatusError(409, result.error.message);
    return { route: route.id, state: result.value.state, effectiveWeight: result.value.effectiveWeight };
  });

  // Last stage: anything under the admin base that is no endpoint, /api or not.
  router.all("*", (req, _env, _ctx, path) => error(404, `no such admin endpoint: ${req.method} ${path} (the API is under ${api})`));

  return async (request, path, env, ctx) => {
    if (path === deps.base || path === `${deps.base}/`) {
      const client = clientOf(request);
      const now = deps.now();
      const waitMs = backoff.retryAfterMs(client, now);
      if (waitMs > 0) return tooManyFailures(waitMs);
      return serveDashboard(request, env, deps.base, deps.now, deps.randomBytes, { failed: () => backoff.failed(client, now), succeeded: () => backoff.succeeded(client) });
    }
    return (await router.fetch(request as unknown as IRequest, env, ctx, path)) as Response;
  };
}

function tooManyFailures(waitMs: number): Response {
  const seconds = Math.ceil(waitMs / 1000);
  const body: ErrorResponse = { status: 429, error: `too many wrong tokens from this client: retry after ${seconds} s` };
  return Response.json(body, { status: 429, headers: { "retry-after": String(seconds), "cache-control": "no-store" } });
}

/** The body as text, refused with 413 past MAX_BODY_BYTES whatever content-length said (chunked bodies have none). */
async function requestText(request: Request): Promise<string> {
  const text = await boundedText(request.body, MAX_BODY_BYTES);
  if (text === undefined) throw new StatusError(413, `request body over ${MAX_BODY_BYTES} bytes`);
  return text;
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await requestText(request);
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new StatusError(400, "body must be a JSON object");
}
