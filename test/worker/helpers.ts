// Request helpers for the Worker tests, in one place so a test-API change touches one
// file. Requests go through the real entry (src/index.ts default export, the same
// module instance SELF uses) and wait for ctx.waitUntil work, so background config
// refreshes and telemetry have finished when a helper returns.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { inject } from "vitest";
import worker from "../../src/index.js";
import type { ConfigInput } from "../../src/core/config/schema.js";

export const origins = inject("origins");
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
  init: RequestInit & { host?: string; envOverrides?: Partial<Env> } = {},
): Promise<Sent> {
  const { host = HOST, envOverrides, ...rest } = init;
  const ctx = createExecutionContext();
  const request = new Request(`http://${host}${path}`, rest);
  const response = await worker.fetch(request as Parameters<typeof worker.fetch>[0], { ...env, ...envOverrides }, ctx);
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return { response, body, variant: response.headers.get("x-canary-variant") };
}

/** Writes a config document and makes one request so every cache has re-read it. */
export async function putConfig(doc: ConfigInput | string): Promise<void> {
  await env.CANARY_CONFIG.put("config", typeof doc === "string" ? doc : JSON.stringify(doc));
  await send("/__warm");
  await send("/__warm");
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
