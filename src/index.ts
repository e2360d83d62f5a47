// Entry: wires the request path and exports the coordinator Durable Object class.
import { AnalyticsSink } from "./edge/analytics-sink.js";
import { ConfigCache } from "./edge/config-cache.js";
import { errorResponse } from "./edge/error-response.js";
import { handleRequest } from "./edge/handle-request.js";

// Per-isolate state: settled values only.
const configCache = new ConfigCache();

export default {
  async fetch(request, env, ctx) {
    try {
      return await handleRequest(request, env, ctx, {
        configCache,
        weights: { weight: (route) => route.weight },
        sink: new AnalyticsSink(env.CANARY_AE),
        now: Date.now,
        randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
      });
    } catch (e) {
      console.error(JSON.stringify({ level: "error", msg: "unhandled edge error", error: (e as Error).stack ?? String(e) }));
      return errorResponse(500, "internal", "edge-canary failed to handle the request");
    }
  },
} satisfies ExportedHandler<Env>;

export { Coordinator } from "./coordinator/coordinator.js";
