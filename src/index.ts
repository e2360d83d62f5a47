// Entry: wires the request path, the admin API, and exports the coordinator class.
import { handleAdmin } from "./admin/handle-admin.js";
import { mintIdentity } from "./core/identity.js";
import { AnalyticsSink } from "./edge/analytics-sink.js";
import { CompositeSink } from "./edge/composite-sink.js";
import { ConfigCache } from "./edge/config-cache.js";
import { CoordinatorClient } from "./edge/coordinator-client.js";
import { errorResponse } from "./edge/error-response.js";
import { handleRequest, type EdgeDeps } from "./edge/handle-request.js";
import { IdentityCheck } from "./edge/identity-check.js";
import { requestTarget } from "./edge/request-target.js";
import type { RouteConfig, SyncConfig } from "./core/config/schema.js";

// Per-isolate state: settled values only, never promises or I/O objects.
const randomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const configCache = new ConfigCache();
const coordinator = new CoordinatorClient(() => mintIdentity(randomBytes), Date.now);
const identities = new IdentityCheck();

const weights = {
  weight: (route: RouteConfig, sync: SyncConfig, env: Env, ctx: ExecutionContext) =>
    coordinator.weight(
      route,
      sync,
      (routeId, req) => env.COORDINATOR.get(env.COORDINATOR.idFromName(routeId)).sync(req),
      (p) => ctx.waitUntil(p),
    ),
};

// The request path's dependencies, built once: only the sink depends on the env (the AE
// binding), which is the same object for the isolate's life in production; they are
// rebuilt only when a different env is passed (tests).
let depsFor: { dataset: AnalyticsEngineDataset | undefined; deps: EdgeDeps } | undefined;
function edgeDeps(env: Env): EdgeDeps {
  if (!depsFor || depsFor.dataset !== env.CANARY_AE) {
    const sink = new CompositeSink([new AnalyticsSink(env.CANARY_AE), coordinator]);
    depsFor = { dataset: env.CANARY_AE, deps: { configCache, weights, sink, identities, now: Date.now, randomBytes } };
  }
  return depsFor.deps;
}

export default {
  async fetch(request, env, ctx) {
    try {
      const adminBase = env.ADMIN_BASE_PATH || "/__canary";
      const target = requestTarget(new URL(request.url));
      const path = target.pathname;
      if (path === adminBase || path.startsWith(`${adminBase}/`)) {
        return await handleAdmin(request, path, env, ctx, { configCache, coordinator, base: adminBase });
      }
      return await handleRequest(request, target, env, ctx, edgeDeps(env));
    } catch (e) {
      console.error(JSON.stringify({ level: "error", msg: "unhandled edge error", error: (e as Error).stack ?? String(e) }));
      return errorResponse(500, "internal", "edge-canary failed to handle the request");
    }
  },
} satisfies ExportedHandler<Env>;

export { Coordinator } from "./coordinator/coordinator.js";
