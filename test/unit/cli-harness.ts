// Test helpers for the CLI: run a command in-process with captured output, and serve
// recorded JSON from a real HTTP server on 127.0.0.1 (the CLI's fetch goes over the
// loopback exactly as it would to a Worker or to api.cloudflare.com).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../scripts/cli/main.js";
import type { CliIo } from "../../scripts/cli/common.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

export const fixture = (rel: string): string => join(ROOT, "test", "fixtures", rel);
export const fixtureJson = (rel: string): unknown => JSON.parse(readFileSync(fixture(rel), "utf8"));

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `canary <args>` in-process; env replaces process.env entirely. */
export async function runCli(args: string[], opts: { env?: Record<string, string>; isTTY?: boolean; io?: Partial<CliIo> } = {}): Promise<CliRun> {
  let out = "";
  let err = "";
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: opts.env ?? {},
    isTTY: opts.isTTY ?? false,
    cwd: ROOT,
    fetch: globalThis.fetch,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    ...opts.io,
  };
  const code = await main(args, io);
  return { code, out, err };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeServer {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Reply = { status: number; json?: unknown; text?: string };

/** An HTTP server on 127.0.0.1:<random port> answering through `route`. */
export async function startServer(route: (req: SeenRequest) => Reply): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const seen: SeenRequest = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(seen);
      const reply = route(seen);
      const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? "");
      res.writeHead(reply.status, { "content-type": reply.json !== undefined ? "application/json" : "text/plain" });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
