// Which route config the coordinator holds when the KV document it reads is not good
// (invalid, missing, unreadable): an isolate that read a later good document than the
// coordinator offers it on sync (SyncRequest.offer), and the coordinator adopts it, so
// both sides serve the same config within one sync interval instead of diverging for
// as long as the bad document stays. KV stays the authority: a valid document always
// wins, and an offer is only taken while KV's own latest document is rejected. "Later"
// compares the times the two sides read their documents (isolate and coordinator
// clocks; Cloudflare's are synchronised, a skew of a few ms only matters for documents
// written that close together). Given up: an isolate older than the coordinator keeps
// its config until KV is fixed; it then serves no more canary than the coordinator's
// state allows (effective-weight.ts, confirmedWeight) and both report the divergence.
import { RouteSchema, type RouteConfig } from "../core/config/schema.js";
import { routeHash } from "../core/route-hash.js";
import type { SyncRequest } from "../core/sync-protocol.js";

export interface HeldRoute {
  config: RouteConfig;
  hash: string;
  /** When this document was read (by the coordinator from KV, or by the offering isolate). */
  loadedAt: number;
  /** Where it came from, when not from KV (for the audit reason). */
  note?: string;
}

/**
 * The offer to adopt instead of `held`, if any: valid, for this route, hashed as claimed,
 * and read later. With nothing held (a coordinator restarted while KV is bad) only the
 * config its stored state was made on (`stateHash`) is taken back: it cannot tell
 * which of two isolates' configs is newer.
 */
export function acceptOffer(
  req: Pick<SyncRequest, "configHash" | "offer"> | undefined,
  routeId: string,
  held: HeldRoute | undefined,
  rejectedHash: string | undefined,
  stateHash: string | undefined,
): HeldRoute | undefined {
  const offer = req?.offer;
  if (!offer || offer.route.id !== routeId || req.configHash === held?.hash) return undefined;
  if (!RouteSchema.safeParse(offer.route).success || routeHash(offer.route) !== req.configHash) return undefined;
  if (held && offer.loadedAt <= held.loadedAt) return undefined;
  if (!held && stateHash !== undefined && req.configHash !== stateHash) return undefined;
  return {
    config: offer.route,
    hash: req.configHash,
    loadedAt: offer.loadedAt,
    note: `adopted from an isolate: the KV document ${rejectedHash ?? "(missing)"} is invalid and this route config was read from it later than ours`,
  };
}
