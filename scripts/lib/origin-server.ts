// A real HTTP origin on 127.0.0.1 for the demo, tests and benchmarks. Each instance
// says which version it is. Its behaviour can be changed at run time through
// `POST /__origin/mode` so tests and the demo can turn a healthy canary bad.
//   GET  /__origin/stats  -> { name, requests, byMethod }
//   GET  /__origin/received -> bodies of POSTs to /hook/* (a webhook receiver for tests);
//                            /hook/* obeys failRate like any other path
//   POST /__origin/mode   -> body { failRate?: 0..1, failStatus?: number, delayMs?: number, quoteBug?: boolean }
//   GET  /api/quote        -> 200 JSON price quote, the same from every origin except two
//                            fields that differ on every answer (requestId, servedAt) and,
//                            with mode quoteBug, a wrong `total` (the shadow demo's bug);
//                            header x-origin-version names the origin
//   GET  /stream?chunks=N&everyMs=M -> 200 headers at once, then N text chunks M ms apart
//                            (a slow body, to show the origin timeout covers headers only)
//   GET  /bytes?n=N        -> 200 text/html, exactly N bytes (at most 8 MiB), Content-Length
//                            set: a page of a chosen size, for the benchmark's body sweep
//   GET  /ws (Upgrade: websocket) -> a WebSocket that first sends {version, headers} (what
//                            the proxy forwarded) and then echoes each message as
//                            "<version>: <message>"
//   ANY  /say/<tag>?body=B&type=T&status=S -> exactly B (type T, default text/plain) with
//                            Content-Length; any parameter prefixed by the origin's name
//                            (canary.body=...) overrides it on that origin only, so one
//                            URL gives two versions that differ in a chosen way. Also
//                            <name>.delayMs (before headers), <name>.bodyDelayMs (between
//                            headers and body), <name>.reset=1 (the connection is cut),
//                            repeat=N (body N times), tail=X (appended after),
//                            chunked=1 (no Content-Length)
//   GET  /__origin/said?path=/say/<tag> -> what /say/<tag> received: method, shadow
//                            header, selected headers, body length (tests of mirroring)
//   any other path        -> 200 JSON (or HTML for text/html) naming the version, echoing
//                            method, path, query, selected headers and body length.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

// Loaded with Node's own resolver: vitest resolves the Worker project's global setup with
// the workerd export conditions, under which "ws" is its browser stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as typeof import("ws");

export interface OriginMode {
  failRate: number;
  failStatus: number;
  delayMs: number;
  /** GET /api/quote adds the tax twice to `total` (a bug only a comparison of answers shows). */
  quoteBug: boolean;
}

export interface OriginServer {
  name: string;
  url: string;
  port: number;
  server: Server;
  mode: OriginMode;
  requests: number;
  byMethod: Record<string, number>;
  received: Array<{ path: string; at: number; body: unknown }>;
  said: SaidRequest[];
  close(): Promise<void>;
}

/** A request /say/* received. */
export interface SaidRequest {
  path: string;
  method: string;
  at: number;
  bodyLength: number;
  headers: Record<string, string | string[] | undefined>;
}

const MAX_SAID = 5000;
const MAX_BYTES = 8 * 1024 * 1024;
const MAX_PAGES = 8;
const pages = new Map<number, Buffer>();
/** N bytes of HTML-ish text, built once per size; the last MAX_PAGES sizes are kept. */
function page(n: number): Buffer {
  let body = pages.get(n);
  if (!body) {
    body = Buffer.alloc(n, "<p>edge-canary bench page</p>\n");
    if (pages.size >= MAX_PAGES) pages.delete(pages.keys().next().value!);
    pages.set(n, body);
  }
  return body;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startOrigin(name: string, port = 0, random: () => number = Math.random): Promise<OriginServer> {
  const state: OriginServer = {
    name,
    url: "",
    port: 0,
    server: undefined as unknown as Server,
    mode: { failRate: 0, failStatus: 503, delayMs: 0, quoteBug: false },
    requests: 0,
    byMethod: {},
    received: [],
    said: [],
    close: async () => {},
  };
  // Node's default header limit is 16 KB; sites behind edge-canary send bigger Cookie headers.
  const server = createServer({ maxHeaderSize: 256 * 1024 }, async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://origin");
    // A client (or proxy) that goes away mid-upload: nothing to answer, and no crash.
    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) return void res.destroy();
    if (url.pathname === "/__origin/received") {
      return json(res, 200, state.received);
    }
    if (url.pathname === "/__origin/said") {
      const path = url.searchParams.get("path");
      return json(res, 200, state.said.filter((r) => r.path === path));
    }
    if (url.pathname === "/__origin/stats") {
      return json(res, 200, { name, requests: state.requests, byMethod: state.byMethod, mode: state.mode });
    }
    if (url.pathname === "/__origin/mode" && req.method === "POST") {
      const patch = JSON.parse(body.toString() || "{}") as Partial<OriginMode> & { reset?: boolean };
      if (patch.reset) {
        state.requests = 0;
        state.byMethod = {};
        state.received = [];
      }
      Object.assign(state.mode, {
        ...(patch.failRate !== undefined ? { failRate: patch.failRate } : {}),
        ...(patch.failStatus !== undefined ? { failStatus: patch.failStatus } : {}),
        ...(patch.delayMs !== undefined ? { delayMs: patch.delayMs } : {}),
        ...(patch.quoteBug !== undefined ? { quoteBug: patch.quoteBug } : {}),
      });
      return json(res, 200, state.mode);
    }
    state.requests++;
    state.byMethod[req.method ?? "?"] = (state.byMethod[req.method ?? "?"] ?? 0) + 1;
    if (url.pathname.startsWith("/say/")) return say(req, res, url, body, state);
    const delay = Number(url.searchParams.get("delayMs") ?? state.mode.delayMs);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const forced = url.pathname.match(/^\/status\/(\d{3})$/);
    if (forced) return json(res, Number(forced[1]), { version: name, forced: true });
    if (state.mode.failRate > 0 && random() < state.mode.failRate) {
      return json(res, state.mode.failStatus, { version: name, error: "injected failure" });
    }
    if (url.pathname === "/stream") {
      const chunks = Number(url.searchParams.get("chunks") ?? 5);
      const everyMs = Number(url.searchParams.get("everyMs") ?? 100);
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      for (let i = 0; i < chunks; i++) {
        res.write(`${name} chunk ${i}\n`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
      return res.end("end\n");
    }
    if (url.pathname === "/api/quote") {
      const q = quote(state.mode.quoteBug);
      const text = JSON.stringify(q);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-origin-version": name });
      return res.end(text);
    }
    if (url.pathname === "/bytes") {
      const n = Number(url.searchParams.get("n") ?? 1024);
      if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) return json(res, 400, { error: `n must be an integer 0..${MAX_BYTES}` });
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": String(n) });
      return res.end(page(n));
    }
    if (url.pathname.startsWith("/hook") && req.method === "POST") {
      let parsed: unknown = body.toString();
      try {
        parsed = JSON.parse(body.toString());
      } catch {
        // keep the raw text
      }
      state.received.push({ path: url.pathname, at: Date.now(), body: parsed });
      return json(res, 200, { ok: true });
    }
    if ((req.headers.accept ?? "").includes("text/html")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "set-cookie": "app_session=abc; Path=/" });
      return res.end(`<!doctype html><title>${name}</title><h1>Served by ${name}</h1><p>${req.method} ${url.pathname}</p>`);
    }
    res.setHeader("set-cookie", "app_session=abc; Path=/");
    return json(res, 200, {
      version: name,
      method: req.method,
      path: url.pathname,
      query: url.search,
      bodyLength: body.length,
      headers: forwardedHeaders(req),
    });
  });
  // WebSockets: only /ws upgrades; anything else is refused at the socket.
  const sockets = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket, head) => {
    if (new URL(req.url ?? "/", "http://origin").pathname !== "/ws") return socket.destroy();
    state.requests++;
    state.byMethod.GET = (state.byMethod.GET ?? 0) + 1;
    sockets.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ version: name, headers: forwardedHeaders(req) }));
      ws.on("message", (data) => ws.send(`${name}: ${String(data)}`));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject); // e.g. EADDRINUSE: a clear rejection, not an unhandled event
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  state.server = server;
  state.port = addr.port;
  state.url = `http://127.0.0.1:${addr.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      // Upgraded sockets are no longer the HTTP server's connections.
      for (const ws of sockets.clients) ws.terminate();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** /say/<tag>: a response chosen by the query, per origin (see the header comment). */
async function say(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, state: OriginServer): Promise<void> {
  const param = (key: string): string | null => url.searchParams.get(`${state.name}.${key}`) ?? url.searchParams.get(key);
  state.said.push({ path: url.pathname, method: req.method ?? "?", at: Date.now(), bodyLength: body.length, headers: { ...forwardedHeaders(req), "x-canary-shadow": req.headers["x-canary-shadow"], "content-length": req.headers["content-length"], "x-forwarded-for": req.headers["x-forwarded-for"] } });
  if (state.said.length > MAX_SAID) state.said.shift();
  const delay = Number(param("delayMs") ?? 0);
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  if (param("reset") === "1") return void res.destroy();
  const text = (param("body") ?? "").repeat(Number(param("repeat") ?? 1)) + (param("tail") ?? "");
  const headers: Record<string, string> = { "content-type": param("type") ?? "text/plain; charset=utf-8" };
  const extra = param("header");
  if (extra) headers["x-said"] = extra;
  if (param("chunked") !== "1") headers["content-length"] = String(Buffer.byteLength(text));
  res.writeHead(Number(param("status") ?? 200), headers);
  const bodyDelay = Number(param("bodyDelayMs") ?? 0);
  if (bodyDelay > 0) {
    res.flushHeaders();
    await new Promise((r) => setTimeout(r, bodyDelay));
  }
  if (param("chunked") === "1" && text.length > 1) {
    // Two writes, so the body really arrives in pieces.
    res.write(text.slice(0, text.length >> 1));
    res.end(text.slice(text.length >> 1));
    return;
  }
  res.end(text);
}

/** The request headers a proxy is tested on: forwarding, variant, hygiene. */
function forwardedHeaders(req: IncomingMessage): Record<string, string | string[] | undefined> {
  return {
    host: req.headers.host,
    "x-forwarded-host": req.headers["x-forwarded-host"],
    "x-forwarded-proto": req.headers["x-forwarded-proto"],
    "x-canary-variant": req.headers["x-canary-variant"],
    "x-canary-release": req.headers["x-canary-release"],
    "x-canary-override": req.headers["x-canary-override"],
    "x-canary-internal": req.headers["x-canary-internal"],
    connection: req.headers.connection,
    "keep-alive": req.headers["keep-alive"],
    upgrade: req.headers.upgrade,
    "x-custom": req.headers["x-custom"],
    forwarded: req.headers.forwarded,
    "cdn-loop": req.headers["cdn-loop"],
    cookie: req.headers.cookie,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A port with nothing listening, for "origin down" cases. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * The quote every origin computes for the same cart. requestId and servedAt differ on
 * every answer (a shadow comparison ignores them); with `bug`, the tax is added twice.
 */
function quote(bug: boolean): Record<string, unknown> {
  const items = [
    { sku: "boots-42", quantity: 1, unitPrice: 89.9 },
    { sku: "socks-3", quantity: 2, unitPrice: 7.5 },
  ];
  const net = items.reduce((n, i) => n + i.quantity * i.unitPrice, 0);
  const tax = Math.round(net * 0.2 * 100) / 100;
  const total = Math.round((net + tax + (bug ? tax : 0)) * 100) / 100;
  return { requestId: randomUUID(), servedAt: new Date().toISOString(), currency: "EUR", items, net, tax, total };
}
