// What happened to one proxied request: the unit of telemetry and evidence.
import type { Variant } from "./config/schema.js";

/** none: the origin answered; status: it answered with a status counted as failed;
 *  network: the connection failed; timeout: no response headers within timeoutMs. */
export type ErrorKind = "none" | "status" | "network" | "timeout";

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
  /** The identity hashed to 32 bits: the evidence counts each failing identity once. */
  identityHash?: number;
}

/** Receives every request's outcome after the response is on its way. */
export interface OutcomeSink {
  record(outcome: Outcome): void;
}
