// The real wrangler CLI, used the way a developer would: `wrangler kv key put --local`
// seeds the config into local KV and `wrangler dev` runs the Worker. Both share one
// persistence directory private to this demo run (`--persist-to`), so the demo never
// reads or clobbers the local state of anyone else working in the same tree.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCommand, spawnGroup, type GroupProcess } from "./processes.js";

export interface WranglerOptions {
  /** Repository root: where wrangler.jsonc lives. */
  root: string;
  /** Directory for local KV / Durable Object state of this run. */
  persistTo: string;
}

/** The local wrangler (no npx round trip, no npm warnings); npx as a fallback. */
function wranglerCommand(root: string): { cmd: string; args: string[] } {
  const bin = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  if (existsSync(bin)) return { cmd: process.execPath, args: [bin] };
  return { cmd: "npx", args: ["wrangler"] };
}

/** `wrangler kv key put --binding <binding> <key> --path <file> --local`. Returns the time it took. */
export async function kvPut(opts: WranglerOptions, binding: string, key: string, file: string): Promise<number> {
  const { cmd, args } = wranglerCommand(opts.root);
  const result = await runCommand(
    cmd,
    [...args, "kv", "key", "put", "--binding", binding, key, "--path", file, "--local", "--persist-to", opts.persistTo],
    { cwd: opts.root, timeoutMs: 60_000 },
  );
  return result.ms;
}

export interface DevServer {
  url: string;
  process: GroupProcess;
  logFile: string;
}

/** Starts `wrangler dev` in its own process group; call waitReady next. */
export function startDev(
  opts: WranglerOptions & { port: number; inspectorPort: number; vars: Record<string, string>; logFile: string },
): DevServer {
  const { cmd, args } = wranglerCommand(opts.root);
  const varArgs = Object.entries(opts.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const proc = spawnGroup(
    cmd,
    [
      ...args,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(opts.port),
      "--inspector-port",
      String(opts.inspectorPort),
      "--persist-to",
      opts.persistTo,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
      ...varArgs,
    ],
    // CI=1 keeps wrangler from prompting or opening anything; its telemetry stays off.
    { cwd: opts.root, logFile: opts.logFile, env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" } },
  );
  return { url: `http://127.0.0.1:${opts.port}`, process: proc, logFile: opts.logFile };
}

/** A failure of wrangler itself, reported with its own output (no stack trace needed). */
export class WranglerError extends Error {}

const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "");

/** wrangler's output minus the known-harmless offline noise (it cannot fetch Request.cf). */
const cleanTail = (tail: string): string =>
  stripAnsi(tail)
    .split("\n")
    .filter((l) => !/Request\.cf|ENOTFOUND workers\.cloudflare\.com|at GetAddrInfoReqWrap/.test(l))
    .map((l) => `    | ${l}`)
    .join("\n");

/**
 * Polls until the Worker answers a proxied request (it carries x-canary-variant).
 * wrangler dev stays up waiting for a fix when the Worker does not build, so an
 * `[ERROR]` in its output before the first answer ends the wait (after a short grace
 * period for the rest of the message to arrive).
 */
export async function waitReady(dev: DevServer, timeoutMs: number, path = "/"): Promise<number> {
  const started = Date.now();
  let last = "no answer yet";
  let errorSeenAt: number | undefined;
  while (Date.now() - started < timeoutMs) {
    if (dev.process.hasExited()) {
      throw new WranglerError(`wrangler dev exited before it was ready:\n${cleanTail(dev.process.tail())}`);
    }
    if (errorSeenAt === undefined && stripAnsi(dev.process.tail()).includes("[ERROR]")) errorSeenAt = Date.now();
    if (errorSeenAt !== undefined && Date.now() - errorSeenAt > 2_000) {
      throw new WranglerError(`wrangler dev reported an error before the Worker answered (does the Worker build?):\n${cleanTail(dev.process.tail())}`);
    }
    try {
      const res = await fetch(dev.url + path, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200 && res.headers.get("x-canary-variant")) return Date.now() - started;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new WranglerError(`wrangler dev did not answer within ${timeoutMs} ms (last: ${last}); log: ${dev.logFile}\n${cleanTail(dev.process.tail())}`);
}
