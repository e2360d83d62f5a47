// What segment predicates read beyond the request, from the Worker's env: a secret by
// name (a JWT key; only a non-empty string counts) and an identitiesKv list from the
// CANARY_CONFIG namespace (identity-lists.ts). The request path and the admin API's
// explain build it the same way, so explain answers with the Worker's own keys and lists.
import type { SegmentSources } from "../core/segments/request-facts.js";
import type { IdentityLists } from "./identity-lists.js";

export function segmentSources(env: Env, lists: IdentityLists, refreshMs: number, now: number, ctx: ExecutionContext): SegmentSources {
  return {
    secret: (name) => {
      const v = (env as unknown as Record<string, unknown>)[name];
      return typeof v === "string" && v !== "" ? v : undefined;
    },
    identityList: (key) => lists.get(env.CANARY_CONFIG, key, now, refreshMs, (p) => ctx.waitUntil(p)),
  };
}
