// Child-process lifecycle for the demo. Long-running children (wrangler dev) are
// spawned in their own process group (`detached: true`) so that stopping them kills the
// whole tree, wrangler's workerd processes included, with `process.kill(-pid)`; it also
// keeps a terminal's Ctrl-C away from them, so the demo decides the shutdown order.
// `Lifecycle` is the one place that undoes what the demo started: cleanup steps run
// last-in-first-out once, on success, on an error, and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Keeps the last lines of a stream for error messages. */
class Tail {
  private lines: string[] = [];
  private partial = "";
  constructor(private readonly max = 40) {}
  push(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString("utf8")).split("\n");
    this.partial = parts.pop() ?? "";
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(): string {
    return [...this.lines, this.partial].filter((l) => l.trim() !== "").join("\n");
  }
}

export interface GroupProcess {
  /** Pid of the group leader, which is also the process group id. */
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the leader exits. */
  exited: Promise<string>;
  hasExited(): boolean;
  /** Last lines of stdout+stderr. */
  tail(): string;
  /** SIGTERM to the group, SIGKILL to the group after graceMs; resolves when the group is empty. */
  stop(graceMs?: number): Promise<{ forced: boolean; ms: number }>;
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Spawns `cmd` as the leader of a new process group, logging its output to logFile. */
export function spawnGroup(cmd: string, args: string[], opts: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv }): GroupProcess {
  const log = createWriteStream(opts.logFile, { flags: "a" });
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  const pid = child.pid;
  const tail = new Tail();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => {
      tail.push(chunk);
      log.write(chunk);
    });
  }
  let exitedFlag = false;
  const exited = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) => {
      exitedFlag = true;
      resolve(signal ?? String(code));
    });
    child.on("error", (e) => {
      exitedFlag = true;
      tail.push(Buffer.from(`spawn error: ${e.message}\n`));
      resolve("spawn-error");
    });
  });
  exited.then(() => log.end());

  const stop = async (graceMs = 5_000) => {
    const started = Date.now();
    let forced = false;
    if (groupAlive(pid)) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      while (groupAlive(pid) && Date.now() - started < graceMs) await sleep(50);
      if (groupAlive(pid)) {
        forced = true;
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        while (groupAlive(pid) && Date.now() - started < graceMs + 3_000) await sleep(50);
      }
    }
    return { forced, ms: Date.now() - started };
  };

  // Last resort if the demo exits without running its cleanup (a synchronous handler).
  process.on("exit", () => {
    if (groupAlive(pid)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* ignore */
      }
    }
  });

  return { pid, child, exited, hasExited: () => exitedFlag, tail: () => tail.text(), stop };
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a short command to completion; rejects on a non-zero exit or a timeout. */
export function runCommand(cmd: string, args: string[], opts: { cwd: string; timeoutMs?: number }): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr, ms: Date.now() - started };
      if (code === 0) resolve(result);
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}\n${(stderr || stdout).trim()}`));
    });
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Pids of running workerd processes, optionally only those in one process group (Linux /proc). */
export function workerdPids(pgid?: number): number[] {
  if (!existsSync("/proc")) return [];
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmdline.includes("workerd")) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after "(comm)": state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const group = Number(fields[2]);
      if (pgid === undefined || group === pgid) out.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return out;
}

type CleanupStep = { name: string; run: () => Promise<unknown> | void };

/** Undo stack for everything the demo started; runs once, last-in-first-out. */
export class Lifecycle {
  private steps: CleanupStep[] = [];
  private shuttingDown: Promise<void> | undefined;
  /** Set when a signal started the shutdown: the exit code to use (128 + signal number). */
  signalExitCode: number | undefined;

  add(name: string, run: CleanupStep["run"]): void {
    this.steps.push({ name, run });
  }

  get stopping(): boolean {
    return this.shuttingDown !== undefined;
  }

  shutdown(log: (msg: string) => void): Promise<void> {
    this.shuttingDown ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.run();
        } catch (e) {
          log(`cleanup "${step.name}" failed: ${(e as Error).message}`);
        }
      }
    })();
    return this.shuttingDown;
  }

  /** On SIGINT/SIGTERM/SIGHUP: run cleanup, then exit 128+n. A second signal exits at once. */
  handleSignals(log: (msg: string) => void): void {
    const onSignal = (signal: NodeJS.Signals, code: number) => {
      if (this.stopping) {
        log(`${signal} again: exiting now`);
        process.exit(code);
      }
      log(`${signal}: stopping everything`);
      this.signalExitCode = code;
      void this.shutdown(log).finally(() => process.exit(code));
    };
    process.on("SIGINT", () => onSignal("SIGINT", 130));
    process.on("SIGTERM", () => onSignal("SIGTERM", 143));
    process.on("SIGHUP", () => onSignal("SIGHUP", 129));
  }
}
