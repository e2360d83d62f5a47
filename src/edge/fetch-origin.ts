// One origin fetch with a timeout on the response headers only: a slow body keeps
// streaming, a silent origin is abandoned after timeoutMs. Failures are values.
// `AbortSignal.timeout` would be one runtime call instead of three, but its signal stays
// armed after the headers arrive and cuts a body still being read, so the timer is
// cleared by hand (the Worker test "times out only the response headers" holds this).
// With a request body the timeout starts once the body is fully sent: a slow upload is
// the client's doing, never the origin's (see upload-watch.ts).
import type { ErrorKind } from "../core/outcome.js";
import type { UploadWatch } from "./upload-watch.js";

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
  upload?: UploadWatch,
): Promise<OriginResult> {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  let started = now();
  const request = makeRequest(controller.signal);
  if (upload) {
    upload.start({
      sent: () => {
        started = now();
        arm();
      },
      failed: () => controller.abort(),
    });
  } else arm();
  try {
    const response = await fetch(request);
    const status = response.status;
    const errorKind: ErrorKind = failStatuses.includes(status) ? "status" : "none";
    return { response, status, originMs: now() - started, errorKind };
  } catch (e) {
    const client = upload?.state === "client_abort" || upload?.state === "client_stall" ? upload.state : undefined;
    return {
      status: 0,
      originMs: now() - started,
      errorKind: client ?? (timedOut ? "timeout" : "network"),
      message: client === "client_stall" ? `client sent no body bytes for ${timeoutMs} ms` : client ? "client went away during the upload" : timedOut ? `no response within ${timeoutMs} ms` : (e as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}
