// What every CLI command shares: the I/O it is given (so tests run commands in-process
// with captured output and a fake environment), the two error kinds and their exit
// codes (0 ok, 1 failure or invalid input, 2 usage), argument parsing on node:util
// parseArgs, and where the admin API is (`--url`/`--token`, else CANARY_URL /
// CANARY_ADMIN_TOKEN). Errors are rendered once, by the dispatcher, as one line.
import { lookup as dnsLookup } from "node:dns/promises";
import { ADMIN_API_PATH, DEFAULT_ADMIN_BASE_PATH } from "../../src/core/admin-protocol.js";
import type { HostLookup } from "./resolve-origins.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Everything a command may touch of the outside world. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** True when stdout is a terminal: enables ANSI redraw and colour. */
  isTTY: boolean;
  cwd: string;
  fetch: typeof fetch;
  /** Resolves after ms, or early when the run is cancelled (Ctrl-C); watch uses it. */
  sleep(ms: number): Promise<void>;
  /** DNS for validate/push's origin check; absent (as in tests) means no resolution. */
  lookup?: HostLookup;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A wrong invocation: unknown flag, missing argument. Exit 2, with a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An expected failure: HTTP error, invalid file, missing credentials. Exit 1. */
export class CliError extends Error {
  override name = "CliError";
}

/** The default I/O of a real process. */
export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    lookup: async (hostname) => (await dnsLookup(hostname, { all: true })).map((a) => a.address),
  };
}

/** Spread into every command's parseArgs options. */
export const helpOption = { help: { type: "boolean", short: "h" } } as const;

/**
 * Runs a command's parseArgs call (kept at the call site so its option types stay
 * concrete), turns its errors into UsageError and checks the positional count.
 */
export function parse<T extends { values: { help?: boolean | undefined }; positionals: string[] }>(
  run: () => T,
  positionals: { min: number; max: number; names?: string },
): T & { help: boolean } {
  let parsed: T;
  try {
    parsed = run();
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const help = parsed.values.help === true;
  if (!help) {
    if (parsed.positionals.length < positionals.min) throw new UsageError(`missing argument${positionals.names ? `: ${positionals.names}` : ""}`);
    if (parsed.positionals.length > positionals.max) {
      throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`);
    }
  }
  return { ...parsed, help };
}

/** `--url`/`--token` options shared by the admin API commands. */
export const adminOptions = {
  url: { type: "string" },
  token: { type: "string" },
} as const;

export const ADMIN_HELP = `Admin API:
  --url <url>      Worker admin base, e.g. https://shop.example/__canary (env CANARY_URL);
                   a bare origin gets the default base /__canary appended
  --token <token>  ADMIN_TOKEN bearer token (env CANARY_ADMIN_TOKEN)`;

export interface AdminTarget {
  /** Admin base URL without a trailing slash, e.g. https://shop.example/__canary. */
  base: string;
  token: string;
}

export function adminTarget(values: { url?: string | undefined; token?: string | undefined }, env: CliIo["env"]): AdminTarget {
  const raw = values.url ?? env.CANARY_URL;
  const token = values.token ?? env.CANARY_ADMIN_TOKEN;
  if (!raw) throw new UsageError("no admin URL: pass --url or set CANARY_URL");
  if (!token) throw new UsageError("no admin token: pass --token or set CANARY_ADMIN_TOKEN");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url "${raw}" is not an absolute URL`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  return { base: `${url.origin}${path === "" ? DEFAULT_ADMIN_BASE_PATH : path}`, token };
}

/** Calls `<base>/api<path>` and returns the JSON body; a non-2xx becomes one CliError line. */
export async function adminCall<T>(io: Pick<CliIo, "fetch">, target: AdminTarget, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const url = `${target.base}${ADMIN_API_PATH}${path}`;
  let res: Response;
  try {
    res = await io.fetch(url, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message = json && typeof json === "object" && "error" in json ? String((json as { error: unknown }).error) : firstLine(text);
    throw new CliError(`${method} ${path} failed: ${res.status} ${res.statusText || statusText(res.status)}: ${message}`);
  }
  if (json === undefined) throw new CliError(`${method} ${path}: expected JSON, got ${JSON.stringify(firstLine(text))}`);
  return json as T;
}

function statusText(status: number): string {
  return ({ 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable" } as Record<number, string>)[status] ?? "";
}

export function firstLine(text: string): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Help text helper: `Usage: ...` block followed by the options. */
export function helpText(usage: string, summary: string, body: string): string {
  return `Usage: npm run canary -- ${usage}\n\n${summary}\n\n${body.trimEnd()}\n`;
}

/** Durations like 90s, 30m, 1h, 7d in seconds. */
export function parseDuration(raw: string, flag: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(raw.trim());
  if (!m) throw new UsageError(`${flag} must look like 30m, 1h or 7d (got "${raw}")`);
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "s" | "m" | "h" | "d"];
  if (n <= 0) throw new UsageError(`${flag} must be above 0`);
  return n * unit;
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
