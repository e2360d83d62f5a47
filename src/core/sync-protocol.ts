// The one call between an isolate and a route's coordinator: deliver the evidence
// gathered since the last acknowledged sync, get the current state back. It is
// relay-shaped: deltas merge associatively (mergeEvidence), and the reply carries
// the state with its epoch, so a regional relay can sit between isolates and the
// coordinator later without changing any caller.
import type { RouteConfig } from "./config/schema.js";
import type { Evidence } from "./evidence.js";
import type { RolloutState } from "./rollout/state.js";
import type { MismatchSample } from "./shadow/shadow-outcome.js";

export interface SyncRequest {
  routeId: string;
  /** Random per isolate; with seq it makes a retried delivery count once. */
  isolateId: string;
  /** Increases by one per delivered delta; a resend carries the same seq. */
  seq: number;
  /** Hash of the route config the isolate serves; a mismatch makes the coordinator re-read KV. */
  configHash: string;
  release: string;
  delta: Evidence;
  /** Epoch of the state the isolate served this delta under (absent before its first state). */
  servedEpoch?: number;
  /**
   * Only while the isolate's config hash differs from the one in the last state it got
   * back: its route config and when it read that document (ms epoch). The coordinator
   * adopts it when the KV document it reads itself is invalid and this one is newer
   * than its own (docs/rollout-lifecycle.md, "Config convergence").
   */
  offer?: { route: RouteConfig; loadedAt: number };
  /** The newest shadow mismatches since the last acknowledged sync, at most SAMPLES_PER_SYNC (shadow-outcome.ts). */
  mismatches?: MismatchSample[];
}

export interface SyncResponse {
  state: RolloutState | undefined;
  /** True when this delta had been applied already (a retry). */
  duplicate: boolean;
  /** Coordinator's clock, for isolates' staleness checks and the status API. */
  now: number;
}
