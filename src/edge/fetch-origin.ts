// One origin fetch with a timeout on the response headers only: a slow body keeps
// streaming, a silent origin is abandoned after timeoutMs. Failures are values.
// `AbortSignal.timeout` would be one runtime call instead of three, but its signal stays
// armed after the headers arrive and cuts a body still being read, so the timer is
// cleared by hand (the Worker test "times out only the response headers" holds this).
import type { ErrorKind } from "../core/outcome.js";

export interface OriginResult {
  response?: Response;
  status: number;
  originMs: number;
  errorKind: ErrorKind;
  message?: string;
}

/** `makeRequest` builds the origin request around the signal that enforces the timeout. */
export async function fetchOrigin(
  makeRequest: (signal: AbortSignal) => Request,
  timeoutMs: number,
  failStatuses: readonly number[],
  now: () => number,
): Promise<OriginResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const started = now();
  try {
    const response = await fetch(makeRequest(controller.signal));
    const status = response.status;
    const errorKind: ErrorKind = failStatuses.includes(status) ? "status" : "none";
    return { response, status, originMs: now() - started, errorKind };
  } catch (e) {
    return {
      status: 0,
      originMs: now() - started,
      errorKind: timedOut ? "timeout" : "network",
      message: timedOut ? `no response within ${timeoutMs} ms` : (e as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}
