// Request helpers for the Worker tests, in one place so a test-API change touches one
// file. Requests go through the real Worker (createWorker, what src/index.ts exports)
// built over `clock`, and wait for ctx.waitUntil work, so background config refreshes,
// syncs and telemetry have finished when a helper returns.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { inject, vi } from "vitest";
import { CONFIG_KEY } from "../../src/config/config-cache.js";
import { coordinatorClock } from "../../src/coordinator/clock.js";
import type { ConfigInput } from "../../src/core/config/schema.js";
import { createWorker, type EdgeWorker } from "../../src/worker.js";

export const origins = inject("origins");

// `origins.down` refuses every connection, the way the runtime reports it (fetch rejects
// with "Network connection lost."), without dialling it: workerd logs each refused
// connection as an uncaught exception even when the caller catches the rejection, which
// would put one stray error per request into a passing run.
const realFetch = globalThis.fetch.bind(globalThis);
globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const url = input instanceof Request ? input.url : String(input);
  if (url === origins.down || url.startsWith(`${origins.down}/`)) return Promise.reject(new Error("Network connection lost."));
  return realFetch(input, init);
};

/**
 * The clock of the Worker and the coordinators under test: real time plus what the
 * tests skip with `advance` (a sync interval, a staleness bound, a retry delay) instead
 * of sleeping. It never goes back, so what one test wrote stays in the past of the next.
 */
export const clock = (() => {
  let skipped = 0;
  return {
    now: (): number => Date.now() + skipped,
    advance(ms: number): void {
      skipped += ms;
    },
  };
})();
coordinatorClock.now = clock.now;

/** The Worker under test: the entry's factory over the test clock. */
// Time is driven here, never slept: a trailing sync's wait returns at once (and, the clock
// not having moved, finds its turn not come; test/unit/coordinator-client-trailing.test.ts drives it).
export const worker = createWorker({ now: clock.now, randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)), sleep: () => Promise.resolve() });
export const HOST = "app.test";

export type RouteInput = ConfigInput["routes"][number];

export function route(overrides: Partial<RouteInput> = {}): RouteInput {
  return {
    id: "www",
    stable: { origin: origins.stable },
    canary: { origin: origins.canary },
    release: "r1",
    weight: 50,
    ...overrides,
  };
}

export function config(...routes: RouteInput[]): ConfigInput {
  return { version: 1, routes: routes.length ? routes : [route()] };
}

export interface Sent {
  response: Response;
  body: string;
  variant: string | null;
}

export async function send(
  path: string,
  init: RequestInit & { host?: string; scheme?: "http" | "https"; envOverrides?: Partial<Env>; via?: EdgeWorker } = {},
): Promise<Sent> {
  const { host = HOST, scheme = "http", envOverrides, via = worker, ...rest } = init;
  const ctx = createExecutionContext();
  const request = new Request(`${scheme}://${host}${path}`, rest);
  const response = await via.fetch(request as Parameters<EdgeWorker["fetch"]>[0], { ...env, ...envOverrides }, ctx);
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return { response, body, variant: response.headers.get("x-canary-variant") };
}

/** Writes a config document and makes one request so every cache has re-read it. */
export async function putConfig(doc: ConfigInput | string): Promise<void> {
  await env.CANARY_CONFIG.put(CONFIG_KEY, typeof doc === "string" ? doc : JSON.stringify(doc));
  await send("/__warm");
  await send("/__warm");
}

/**
 * Writes a config and makes sure the coordinator has taken it in: the coordinator
 * re-reads KV at most every 200 ms when an isolate reports a config it has not seen,
 * and the isolate picks up the new state on its next sync, so the clock skips past
 * both twice.
 */
export async function putConfigAndSync(doc: ConfigInput): Promise<void> {
  await putConfig(doc);
  const interval = doc.sync?.intervalMs ?? 1000;
  for (let i = 0; i < 2; i++) {
    clock.advance(Math.max(250, interval));
    await send("/__warm");
  }
}

/** Cookie value (name=value) from a response's Set-Cookie for `name`. */
export function cookieFrom(response: Response, name: string): string | undefined {
  const all = response.headers.getSetCookie();
  const line = all.find((c) => c.startsWith(`${name}=`));
  return line?.split(";")[0];
}

export async function originControl(url: string, mode: Record<string, unknown>): Promise<void> {
  await fetch(`${url}/__origin/mode`, { method: "POST", body: JSON.stringify(mode) });
}

export async function originStats(url: string): Promise<{ requests: number; byMethod: Record<string, number> }> {
  return (await (await fetch(`${url}/__origin/stats`)).json()) as { requests: number; byMethod: Record<string, number> };
}

/** What an origin's /say/<tag> received (scripts/lib/origin-server.ts), oldest first. */
export async function originSaid(url: string, path: string): Promise<Array<{ method: string; at: number; bodyLength: number; headers: Record<string, string | undefined> }>> {
  return (await (await fetch(`${url}/__origin/said?path=${encodeURIComponent(path)}`)).json()) as Array<{ method: string; at: number; bodyLength: number; headers: Record<string, string | undefined> }>;
}

export const ADMIN_TOKEN = "test-admin-token";

/** Calls the admin API through the entry; `token: null` sends none. */
export async function admin<T = unknown>(
  path: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<{ status: number; json: T }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const r = await send(`/__canary/api${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  return { status: r.response.status, json: JSON.parse(r.body) as T };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One structured log line the Worker or a coordinator wrote (they log JSON). */
export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/**
 * Runs `fn` with console.error captured and returns what was logged, so a test that
 * provokes an expected failure asserts its log line instead of leaking it to the run's
 * output. The Worker, the coordinators and the tests share one isolate, so this sees
 * both.
 */
export async function loggedErrors(fn: () => Promise<unknown>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    const text = args.map(String).join(" ");
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      lines.push({ level: "unstructured", msg: text });
    }
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

/** Distinct users identified by an app header, so no cookie jar is needed. */
export async function variantsOf(users: number, prefix = "user", path = "/"): Promise<string[]> {
  const out: string[] = [];
  for (let u = 0; u < users; u++) out.push((await send(path, { headers: { "x-user-id": `${prefix}-${u}` } })).variant ?? "none");
  return out;
}

/**
 * A request body that arrives in `chunks` pieces `everyMs` apart, as a slow client
 * uploads it; `fail` makes the client vanish after `after` chunks ("abort": the stream
 * errors, as a disconnect does) or go silent ("stall": no more bytes until cancelled).
 */
export function slowBody(chunks: number, everyMs: number, fail?: { after: number; how: "abort" | "stall" }): ReadableStream<Uint8Array> {
  let sent = 0;
  const bytes = new TextEncoder().encode("x".repeat(100));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (fail && sent === fail.after) {
        if (fail.how === "abort") controller.error(new Error("client disconnected"));
        else await new Promise(() => {}); // silent until the reader cancels
        return;
      }
      if (sent === chunks) return controller.close();
      if (sent > 0) await sleep(everyMs);
      sent++;
      controller.enqueue(bytes);
    },
  });
}

/** An Analytics Engine stand-in that keeps the points written through it. */
export function capturingAE(): { ae: AnalyticsEngineDataset; points: AnalyticsEngineDataPoint[] } {
  const points: AnalyticsEngineDataPoint[] = [];
  return { ae: { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) } as AnalyticsEngineDataset, points };
}
