// Admin API and dashboard under ADMIN_BASE_PATH. Never proxied to an origin; every API
// route requires the ADMIN_TOKEN bearer token. Handlers throw StatusError for expected
// failures and one catch renders JSON errors. The JSON shapes are core/admin-protocol.ts.
import { Router, StatusError, error, json, type IRequest } from "itty-router";
import {
  ADMIN_API_PATH,
  ADMIN_COMMANDS,
  EVENTS_LIMIT,
  MAX_REASON_LENGTH,
  type AdminCommand,
  type CommandResponse,
  type EventsResponse,
  type OperatorCommand,
  type StatusResponse,
} from "../core/admin-protocol.js";
import type { Config, RouteConfig } from "../core/config/schema.js";
import type { ConfigCache } from "../config/config-cache.js";
import type { CoordinatorClient } from "../edge/coordinator-client.js";
import { requireToken } from "./auth.js";
import { serveDashboard } from "./dashboard.js";

export interface AdminDeps {
  configCache: ConfigCache;
  /** CONFIG_REFRESH_MS, parsed (config/worker-settings.ts). */
  configRefreshMs: number;
  coordinator: CoordinatorClient;
  /** ADMIN_BASE_PATH, parsed. */
  base: string;
  now: () => number;
  randomBytes: (n: number) => Uint8Array;
}

const COMMANDS: ReadonlySet<string> = new Set(ADMIN_COMMANDS);

/** `path` is the request's pathname as the entry already read it. */
export async function handleAdmin(request: Request, path: string, env: Env, ctx: ExecutionContext, deps: AdminDeps): Promise<Response> {
  if (path === deps.base || path === `${deps.base}/`) return serveDashboard(request, env, deps.base, deps.now, deps.randomBytes);

  const router = Router<IRequest, [Env, ExecutionContext]>({
    base: `${deps.base}${ADMIN_API_PATH}`,
    before: [(req: IRequest, e: Env) => requireToken(req as unknown as Request, e, deps.now())],
    catch: error,
    finally: [json],
  });

  const config = async (): Promise<{ config: Config; error?: string[] }> => {
    const view = await deps.configCache.get(env.CANARY_CONFIG, deps.now(), deps.configRefreshMs, (p) => ctx.waitUntil(p));
    if (!view.config) throw new StatusError(503, `no valid config: ${(view.error?.messages ?? []).join("; ")}`);
    return { config: view.config, error: view.error?.messages };
  };
  const stub = (routeId: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(routeId));
  const findRoute = (cfg: Config, id: string): RouteConfig => {
    const route = cfg.routes.find((r) => r.id === id);
    if (!route) throw new StatusError(404, `unknown route "${id}"`);
    return route;
  };

  router.get("/status", async (): Promise<StatusResponse> => {
    const { config: cfg, error: configError } = await config();
    const routes = await Promise.all(
      cfg.routes.map(async (route) => ({
        id: route.id,
        config: route,
        coordinator: await stub(route.id).status(route.id),
        isolate: deps.coordinator.status(route.id) ?? null,
      })),
    );
    return { configError: configError ?? null, sync: cfg.sync, routes };
  });

  router.get("/events", async (req): Promise<EventsResponse> => {
    const { config: cfg } = await config();
    const url = new URL(req.url);
    const limit = clampInt(url.searchParams.get("limit"), EVENTS_LIMIT.default, EVENTS_LIMIT.min, EVENTS_LIMIT.max);
    const before = url.searchParams.get("before");
    const only = url.searchParams.get("route");
    const ids = only ? [findRoute(cfg, only).id] : cfg.routes.map((r) => r.id);
    const lists = await Promise.all(
      ids.map(async (id) => (await stub(id).events(limit, before ? Number(before) : undefined)).map((e) => ({ route: id, ...e }))),
    );
    const events = lists.flat().sort((a, b) => b.at - a.at || b.id - a.id).slice(0, limit);
    return { events, next: events.length === limit && only ? events[events.length - 1]!.id : null };
  });

  router.post("/routes/:id/:command", async (req): Promise<CommandResponse> => {
    const { config: cfg } = await config();
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
      if (!Number.isInteger(body.step)) throw new StatusError(400, "body field step must be an integer step index");
      cmd = { type: "set_step", stepIndex: body.step as number, reason: reason.trim() };
    } else {
      cmd = { type: command as Exclude<AdminCommand, "step">, reason: reason.trim() };
    }
    const result = await stub(route.id).command(route.id, cmd);
    if (!result.ok) throw new StatusError(409, result.error.message);
    return { route: route.id, state: result.value };
  });

  const notFound = (): Response => error(404, `no such admin endpoint: ${request.method} ${path} (the API is under ${deps.base}${ADMIN_API_PATH})`);
  router.all("*", notFound);

  // The router only sees paths under its base; anything else under the admin base (say
  // /__canary/routes/...) matches no route at all and must still get an answer.
  const response = (await router.fetch(request as unknown as IRequest, env, ctx)) as Response | undefined;
  return response ?? notFound();
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  try {
    const body = (await request.json()) as unknown;
    if (body && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new StatusError(400, "body must be a JSON object");
}

function clampInt(raw: string | null, dflt: number, min: number, max: number): number {
  const n = raw === null ? dflt : Number.parseInt(raw, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}
