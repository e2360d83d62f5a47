// What happened to one proxied request: the unit of telemetry and evidence.
import type { Variant } from "./config/schema.js";

/** none: the origin answered; status: it answered with a status counted as failed;
 *  network: the connection failed; timeout: no response headers within timeoutMs after
 *  the request body was sent; client_abort: the client went away during the upload;
 *  client_stall: the client's upload went silent for timeoutMs; loop: the request
 *  already carried our CDN-Loop token and was refused (508). */
export type ErrorKind = "none" | "status" | "network" | "timeout" | "client_abort" | "client_stall" | "loop";

/** Kinds that say nothing about the origin: recorded in telemetry, never rollout evidence. */
export const NOT_EVIDENCE: ReadonlySet<ErrorKind> = new Set<ErrorKind>(["client_abort", "client_stall", "loop"]);

export interface Outcome {
  routeId: string;
  variant: Variant;
  release: string;
  method: string;
  /** HTTP status the origin gave (of the variant in `variant`); 0 when none came. */
  status: number;
  /** Time to the origin's response headers, ms. */
  originMs: number;
  /** The canary failed and stable served the request instead. */
  fallback: boolean;
  errorKind: ErrorKind;
  colo: string;
  country: string;
  /** Response size from Content-Length, -1 when unknown. */
  bytes: number;
  /** The variant was pinned (signed override) or forced (country filter), not drawn
   *  from the cohort split: kept out of the rollout's evidence. */
  forced: boolean;
  /** The cohort identity: the evidence counts each failing identity once (hashed only then). */
  identity?: string;
  /** The ring (plan.ts Ring.key) the request is attributed to, on a plan with ring stages; absent: everyone else. */
  ring?: string;
}

/**
 * Receives every request's outcome after the response is on its way. A promise it returns
 * is work the caller keeps the request alive for (ctx.waitUntil): the coordinator client's
 * trailing sync, which delivers the last outcomes of a burst.
 */
export interface OutcomeSink {
  record(outcome: Outcome): void | Promise<void>;
}
