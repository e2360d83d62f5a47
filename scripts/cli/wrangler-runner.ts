// Runs the wrangler CLI as a child process. `push` takes a runner as a parameter so a
// test can prove an invalid file never reaches wrangler. The project's own wrangler
// (node_modules/wrangler) is used when present: no npx round trip, no npm notices;
// `npx wrangler` otherwise.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type WranglerRunner = (args: string[], opts: { cwd: string }) => Promise<RunResult>;

function wranglerCommand(cwd: string): { cmd: string; args: string[] } {
  const bin = join(cwd, "node_modules", "wrangler", "bin", "wrangler.js");
  if (existsSync(bin)) return { cmd: process.execPath, args: [bin] };
  return { cmd: "npx", args: ["wrangler"] };
}

export const runWrangler: WranglerRunner = (args, { cwd }) =>
  new Promise((resolve, reject) => {
    const { cmd, args: pre } = wranglerCommand(cwd);
    // WRANGLER_SEND_METRICS=false: a CLI run must not try to phone home.
    const child = spawn(cmd, [...pre, ...args], { cwd, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
