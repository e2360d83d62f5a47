// HTTP load for the request-path benchmark: autocannon with a fixed number of
// connections, each in a closed loop (a new request when the last answer arrived), and
// our own record of every response time, because autocannon's histogram has 1 ms
// resolution, too coarse for differences of a fraction of a millisecond.
import type { Instance, Options as AutocannonOptions, Result as AutocannonResult } from "autocannon";

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** The headers of the i-th request of this run. */
  headers(i: number): Record<string, string>;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Response times in ms, sorted. */
  latencies: Float64Array;
}

let running: Instance | undefined;

/** Stops the load in progress, if any (for cleanup on a signal). */
export const stopLoad = (): void => running?.stop();

/** The q-quantile of sorted values (nearest rank). */
export const quantile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { default: autocannon } = await import("autocannon");
  let next = 0;
  const options: AutocannonOptions = {
    url: opts.url,
    connections: opts.connections,
    duration: opts.seconds,
    requests: [{ method: "GET", setupRequest: (req) => ({ ...req, headers: opts.headers(next++) }) }],
  };
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let done!: (r: { err: unknown; result: AutocannonResult }) => void;
  const finished = new Promise<{ err: unknown; result: AutocannonResult }>((ok) => (done = ok));
  const instance = autocannon(options, (err, result) => done({ err, result }));
  running = instance;
  instance.on("response", (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (n === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[n++] = responseTime;
  });
  const { err, result } = await finished;
  running = undefined;
  if (err) throw err instanceof Error ? err : new Error(String(err));
  return {
    requests: result.requests.total,
    seconds: result.duration || opts.seconds,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    latencies: lat.subarray(0, n).sort(),
  };
}
