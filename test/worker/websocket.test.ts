// WebSocket upgrades through edge-canary: the upgrade reaches the user's variant, stays
// sticky, carries the forwarding and variant headers, and falls back to stable when the
// canary is down. Real WebSocket origins on 127.0.0.1 (scripts/lib/origin-server.ts /ws).
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it, beforeAll } from "vitest";
import { config, origins, putConfigAndSync, route, send, worker, HOST } from "./helpers.js";

const FAST = { intervalMs: 100 };

interface Hello {
  version: string;
  headers: Record<string, string | undefined>;
}

/** Opens a WebSocket through the entry; resolves with the response and the origin's first message. */
async function openSocket(user: string, path = "/ws"): Promise<{ response: Response; hello: Hello; ws: WebSocket; next: () => Promise<string> }> {
  const request = new Request(`http://${HOST}${path}`, { headers: { upgrade: "websocket", "x-user-id": user } });
  const response = await worker.fetch(request as Parameters<typeof worker.fetch>[0], env, createExecutionContext());
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`no upgrade: status ${response.status}, body ${await response.text()}`);
  const queue: string[] = [];
  const waiters: Array<(m: string) => void> = [];
  ws.addEventListener("message", (e) => {
    const m = String(e.data);
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  ws.accept();
  const next = (): Promise<string> =>
    queue.length > 0
      ? Promise.resolve(queue.shift()!)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no message within 5 s")), 5000);
          waiters.push((m) => {
            clearTimeout(timer);
            resolve(m);
          });
        });
  const hello = JSON.parse(await next()) as Hello;
  return { response, hello, ws, next };
}

describe("WebSocket upgrades", () => {
  beforeAll(async () => {
    await putConfigAndSync({ ...config(route({ weight: 50, release: "ws-1", sticky: { source: "header", name: "x-user-id" } })), sync: FAST });
  });

  it("reaches the user's variant, with the variant headers both ways, and echoes through", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const { response, hello, ws, next } = await openSocket(`ws-user-${i}`);
      const variant = response.headers.get("x-canary-variant");
      expect(variant === "stable" || variant === "canary").toBe(true);
      expect(hello.version).toBe(variant);
      expect(hello.headers["x-canary-variant"]).toBe(variant);
      expect(hello.headers["x-canary-release"]).toBe("ws-1");
      expect(hello.headers["x-forwarded-host"]).toBe(HOST);
      ws.send(`ping ${i}`);
      expect(await next()).toBe(`${variant}: ping ${i}`);
      ws.close(1000, "done");
      seen.add(variant!);
    }
    expect(seen).toEqual(new Set(["stable", "canary"]));
  });

  it("is sticky: a user's sockets and page requests go to the same variant", async () => {
    for (let i = 0; i < 6; i++) {
      const user = `ws-sticky-${i}`;
      const first = await openSocket(user);
      const second = await openSocket(user);
      const page = await send("/page", { headers: { "x-user-id": user } });
      expect(second.hello.version).toBe(first.hello.version);
      expect(page.variant).toBe(first.hello.version);
      first.ws.close(1000);
      second.ws.close(1000);
    }
  });

  it("still strips an Upgrade that is not a WebSocket (h2c) as hop-by-hop", async () => {
    const r = await send("/plain", { headers: { upgrade: "h2c", connection: "upgrade", "x-user-id": "h2c-user" } });
    expect(r.response.status).toBe(200);
    const echo = JSON.parse(r.body) as { headers: Record<string, string | undefined> };
    expect(echo.headers.upgrade).toBeUndefined();
  });
});

describe("WebSocket upgrades: fallback", () => {
  beforeAll(async () => {
    const down = route({ weight: 100, release: "ws-down-1", canary: { origin: origins.down } });
    await putConfigAndSync({ ...config(down), sync: FAST });
  });

  it("opens the socket on stable when the canary origin is down, and says so", async () => {
    const { response, hello, ws } = await openSocket("ws-fallback-user");
    expect(response.headers.get("x-canary-fallback")).toBe("1");
    expect(response.headers.get("x-canary-variant")).toBe("stable");
    expect(hello.version).toBe("stable");
    ws.close(1000);
  });
});
