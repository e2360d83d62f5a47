// The Worker, built by a factory so time and randomness enter through one seam: the
// entry (index.ts) passes the runtime's clock and random source; the Worker tests pass a
// clock they drive. createWorker builds the per-isolate state (settings, config cache,
// coordinator client, request-path dependencies) once and returns the fetch handler. Only settled
// values live there, never promises or I/O objects, as the Workers I/O model requires.
import { createAdminHandler, type AdminHandler } from "./admin/handle-admin.js";
import { ConfigCache } from "./config/config-cache.js";
import { WorkerSettingsCache, type WorkerSettings } from "./config/worker-settings.js";
import type { RouteConfig, SyncConfig } from "./core/config/schema.js";
import { mintIdentity } from "./core/identity.js";
import { AnalyticsSink } from "./edge/analytics-sink.js";
import { handleBeacon } from "./edge/beacon.js";
import { beaconPath } from "./edge/beacon-path.js";
import { BeaconRateLimit } from "./edge/beacon-rate.js";
import { CompositeSink } from "./edge/composite-sink.js";
import { CoordinatorClient } from "./edge/coordinator-client.js";
import { errorResponse } from "./edge/error-response.js";
import { handleRequest, type EdgeDeps, type WeightSource } from "./edge/handle-request.js";
import { IdentityCheck } from "./edge/identity-check.js";
import { IdentityLists } from "./edge/identity-lists.js";
import { metricsScriptPath, serveMetricsScript } from "./edge/metrics-script.js";
import type { MetricSink } from "./core/metrics/metric-event.js";
import { requestTarget } from "./edge/request-target.js";
import { ShadowMirror } from "./edge/shadow-mirror.js";

export interface WorkerSeams {
  /** The clock, ms epoch (Date.now in production). */
  now: () => number;
  /** n random bytes (crypto.getRandomValues in production); used on first request, never at global scope. */
  randomBytes: (n: number) => Uint8Array;
  /** Waits ms before a trailing sync (setTimeout when absent); tests that drive `now` pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** One more sink of metric events beside Analytics Engine and the coordinator (tests watch events with it). */
  metricTap?: MetricSink;
}

/** A Worker whose fetch handler is always there (ExportedHandler's is optional). */
export type EdgeWorker = Required<Pick<ExportedHandler<Env>, "fetch">>;

export function createWorker({ now, randomBytes, sleep, metricTap }: WorkerSeams): EdgeWorker {
  const settingsCache = new WorkerSettingsCache();
  const configCache = new ConfigCache();
  const coordinator = new CoordinatorClient(() => mintIdentity(randomBytes), now, () => configCache.view().loadedAt, sleep);
  const identities = new IdentityCheck();
  // Per isolate, like the coordinator client: the in-flight cap counts every request's mirrors.
  // The reference-pair draw (shadow.latencyPairs) comes from the random seam: no client steers it.
  const mirrors = new ShadowMirror(now, () => {
    const b = randomBytes(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
  });
  const weights: WeightSource = {
    weight: (route: RouteConfig, sync: SyncConfig, env: Env, ctx: ExecutionContext) =>
      coordinator.weight(
        route,
        sync,
        (routeId, req) => env.COORDINATOR.get(env.COORDINATOR.idFromName(routeId)).sync(req),
        (p) => ctx.waitUntil(p),
      ),
    shadow: (route: RouteConfig) => coordinator.shadow(route),
    rings: (route: RouteConfig) => coordinator.rings(route),
  };
  const identityLists = new IdentityLists();
  // Per isolate, like the identity check: browser events per identity per minute.
  const beaconLimits = new BeaconRateLimit();
  const tap = metricTap && { record: () => {}, recordShadow: () => {}, recordMetric: (e: Parameters<MetricSink["recordMetric"]>[0]) => metricTap.recordMetric(e) };

  // Only the sink (the AE binding) and the settings depend on the env, which is the
  // same for the isolate's life in production; the deps are rebuilt only when a
  // different binding or different vars are passed (tests).
  let depsFor: { dataset: AnalyticsEngineDataset | undefined; settings: WorkerSettings; deps: EdgeDeps } | undefined;
  const edgeDeps = (env: Env, settings: WorkerSettings): EdgeDeps => {
    if (!depsFor || depsFor.dataset !== env.CANARY_AE || depsFor.settings !== settings) {
      const sink = new CompositeSink(tap ? [new AnalyticsSink(env.CANARY_AE), coordinator, tap] : [new AnalyticsSink(env.CANARY_AE), coordinator]);
      const deps = { configCache, configRefreshMs: settings.configRefreshMs, adminBasePath: settings.adminBasePath, weights, sink, mirrors, identities, identityLists, now, randomBytes };
      depsFor = { dataset: env.CANARY_AE, settings, deps };
    }
    return depsFor.deps;
  };

  // The admin router is built once per admin base (once, in production).
  let adminFor: { settings: WorkerSettings; handle: AdminHandler } | undefined;
  const admin = (settings: WorkerSettings): AdminHandler => {
    if (adminFor?.settings !== settings) {
      const deps = { configCache, configRefreshMs: settings.configRefreshMs, coordinator, identityLists, base: settings.adminBasePath, now, randomBytes };
      adminFor = { settings, handle: createAdminHandler(deps) };
    }
    return adminFor.handle;
  };

  return {
    async fetch(request, env, ctx) {
      try {
        const settings = settingsCache.of(env);
        const adminBase = settings.adminBasePath;
        const target = requestTarget(new URL(request.url));
        const path = target.pathname;
        // The browser's endpoints live under the admin base but are not admin: no token.
        if (path === beaconPath(adminBase)) return await handleBeacon(request, target, env, ctx, edgeDeps(env, settings), beaconLimits);
        if (path === metricsScriptPath(adminBase)) return serveMetricsScript(request);
        if (path === adminBase || path.startsWith(`${adminBase}/`)) return await admin(settings)(request, path, env, ctx);
        return await handleRequest(request, target, env, ctx, edgeDeps(env, settings));
      } catch (e) {
        console.error(JSON.stringify({ level: "error", msg: "unhandled edge error", error: (e as Error).stack ?? String(e) }));
        return errorResponse(500, "internal", "edge-canary failed to handle the request");
      }
    },
  };
}
