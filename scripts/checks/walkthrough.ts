// `npx tsx scripts/checks/walkthrough.ts [--readme README.md]`: runs the README's walkthroughs in
// CI so every command in them is really exercised.
//
// Local block (between `<!-- walkthrough:local:start -->` and `...:end -->`): run for real
// with `bash -euo pipefail` in the repository root, as the leader of a new session, with a
// hard timeout, its output streamed. The block is what a user types into an interactive
// shell, so the runner turns job control on (`set -m`, as in that shell: each background
// job gets its own process group and `kill %1` stops a job's whole tree). `npm ci` lines
// are replaced by `npm ls` (dependencies are already installed; `--install` runs them).
// Afterwards every process still in the session is reported (the block's own stop line
// should have ended them) and killed, and the files the block writes are restored or
// removed. Ports 8001, 8002 and 8787 must be free before the run.
//
// Remote block (`walkthrough:remote`): cannot run here (no account, no network), so each
// command is checked offline: `npx wrangler <cmd>` by its `--help` (the usage line must be
// that command, every flag used must be listed), `npx wrangler deploy` by a real
// `deploy --dry-run` with the block's `"routes": [...]` line added to a copy of
// wrangler.jsonc, and `npm run canary -- <cmd>` by its `--help` plus an offline run where
// one exists (validate, push --dry-run, override-token, query --sql).
//
// Exit code 0 only when both parts passed. Options: --readme <file> (default README.md,
// falling back to docs/walkthrough.md while README has no markers), --timeout <s>
// (default 180), --skip-local, --skip-remote, --install.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FALLBACK_DOC = "docs/walkthrough.md";
const PORTS = [8001, 8002, 8787];
/** Files the local block writes: restored to their previous content, or removed if new. */
const SCRATCH_FILES = [".dev.vars", "wrangler-dev.log", "/tmp/canary-visitor.txt"];
/** Directories the local block creates: removed afterwards if they did not exist before. */
const SCRATCH_DIRS = [".wrangler/walkthrough"];
/** Environment a fresh terminal would not have: the block must set these itself. */
const SCRUBBED_ENV = ["CANARY_URL", "CANARY_ADMIN_TOKEN", "OVERRIDE_SECRET", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN"];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const say = (msg: string) => console.log(`\n[walkthrough] ${msg}`);

// ---------------------------------------------------------------------------- blocks

interface Block {
  name: string;
  file: string;
  /** The bash code inside the fenced block. */
  code: string;
  /** 1-based line in `file` of the first code line. */
  firstLine: number;
}

function hasMarkers(text: string, name: string): boolean {
  return text.includes(`<!-- walkthrough:${name}:start -->`) && text.includes(`<!-- walkthrough:${name}:end -->`);
}

function extractBlock(text: string, file: string, name: string): Block {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === `<!-- walkthrough:${name}:start -->`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === `<!-- walkthrough:${name}:end -->`);
  if (start < 0 || end < 0) throw new Error(`${file}: no "<!-- walkthrough:${name}:start -->" ... ":end -->" marker lines`);
  const open = lines.findIndex((l, i) => i > start && i < end && /^```(bash|sh)\s*$/.test(l.trim()));
  const close = lines.findIndex((l, i) => i > open && i < end && l.trim() === "```");
  if (open < 0 || close < 0) throw new Error(`${file}: the ${name} markers must enclose one \`\`\`bash fenced block`);
  return { name, file, code: lines.slice(open + 1, close).join("\n"), firstLine: open + 2 };
}

/** README.md by default; docs/walkthrough.md until the lead has pasted the blocks in. */
async function sourceFile(explicit: string | undefined): Promise<{ file: string; text: string }> {
  if (explicit) {
    const file = resolve(ROOT, explicit);
    const text = await readFile(file, "utf8");
    if (!hasMarkers(text, "local") && !hasMarkers(text, "remote")) throw new Error(`${explicit} has no walkthrough markers`);
    return { file: explicit, text };
  }
  const readme = join(ROOT, "README.md");
  if (existsSync(readme)) {
    const text = await readFile(readme, "utf8");
    if (hasMarkers(text, "local") || hasMarkers(text, "remote")) return { file: "README.md", text };
    say(`README.md has no walkthrough markers yet: using ${FALLBACK_DOC}`);
  } else {
    say(`there is no README.md yet: using ${FALLBACK_DOC}`);
  }
  return { file: FALLBACK_DOC, text: await readFile(join(ROOT, FALLBACK_DOC), "utf8") };
}

// ---------------------------------------------------------------------------- processes

/** Runs a command to completion, capturing stdout+stderr. Never rejects. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const timer = setTimeout(() => {
      out += `\n(killed after ${secs(opts.timeoutMs ?? 90_000)})`;
      if (child.pid) killQuietly(-child.pid, "SIGKILL");
    }, opts.timeoutMs ?? 90_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolvePromise({ code: null, out: `${out}\n${e.message}`, ms: Date.now() - started });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, out, ms: Date.now() - started });
    });
  });
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone already */
  }
}

interface ProcInfo {
  pid: number;
  pgid: number;
  cmd: string;
}

/** Processes of one session (Linux /proc); undefined where /proc is not available. */
function sessionProcesses(sid: number): ProcInfo[] | undefined {
  if (!existsSync("/proc/self/stat")) return undefined;
  const found: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const statText = readFileSync(`/proc/${entry}/stat`, "utf8");
      // After "(comm)": state ppid pgrp session ...
      const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[3]) !== sid || fields[0] === "Z") continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push({ pid: Number(entry), pgid: Number(fields[2]), cmd });
    } catch {
      /* ended while we looked */
    }
  }
  return found;
}

/** SIGTERM every process (and group) of the session, SIGKILL what is left after graceMs. */
async function killSession(sid: number, graceMs = 4_000): Promise<void> {
  const signalAll = (signal: NodeJS.Signals) => {
    const procs = sessionProcesses(sid);
    if (procs === undefined) {
      killQuietly(-sid, signal);
      return true;
    }
    for (const p of procs) {
      killQuietly(-p.pgid, signal);
      killQuietly(p.pid, signal);
    }
    return procs.length > 0;
  };
  if (!signalAll("SIGTERM")) return;
  const started = Date.now();
  while (Date.now() - started < graceMs && (sessionProcesses(sid)?.length ?? 0) > 0) await sleep(100);
  signalAll("SIGKILL");
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once("error", () => resolvePromise(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
  });
}

async function busyPorts(): Promise<number[]> {
  const busy: number[] = [];
  for (const port of PORTS) if (!(await portFree(port))) busy.push(port);
  return busy;
}

// ---------------------------------------------------------------------------- local block

interface Snapshot {
  files: Map<string, Buffer | undefined>;
  dirs: Map<string, boolean>;
}

async function snapshot(): Promise<Snapshot> {
  const files = new Map<string, Buffer | undefined>();
  for (const f of SCRATCH_FILES) {
    const path = resolve(ROOT, f);
    files.set(path, existsSync(path) ? await readFile(path) : undefined);
  }
  const dirs = new Map<string, boolean>();
  for (const d of SCRATCH_DIRS) dirs.set(resolve(ROOT, d), existsSync(resolve(ROOT, d)));
  return { files, dirs };
}

async function restore(snap: Snapshot): Promise<string[]> {
  const done: string[] = [];
  for (const [path, before] of snap.files) {
    if (before === undefined) {
      if (existsSync(path)) {
        await rm(path, { force: true });
        done.push(`removed ${path.replace(`${ROOT}/`, "")}`);
      }
    } else {
      await writeFile(path, before);
      done.push(`restored ${path.replace(`${ROOT}/`, "")}`);
    }
  }
  for (const [path, existed] of snap.dirs) {
    if (!existed && existsSync(path)) {
      await rm(path, { recursive: true, force: true });
      done.push(`removed ${path.replace(`${ROOT}/`, "")}/`);
    }
  }
  return done;
}

/** The last lines of wrangler-dev.log minus wrangler's harmless offline noise. */
function devLogTail(lines = 30): string {
  const path = join(ROOT, "wrangler-dev.log");
  if (!existsSync(path)) return "";
  return readFileSync(path, "utf8")
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((l) => l.trim() !== "" && !/Request\.cf|ENOTFOUND workers\.cloudflare\.com|GetAddrInfoReqWrap|GET \/.* 200 OK/.test(l))
    .slice(-lines)
    .map((l) => `    | ${l}`)
    .join("\n");
}

/** The ERR trap's command; `set -v` echoes it when it fires, and the runner drops that echo. */
const TRAP_ECHO = "echo >&2";
const INSTALL_LINE = /^\s*npm (ci|install)\s*$/;

function localScript(block: Block, install: boolean): { script: string; offset: number } {
  const body = block.code
    .split("\n")
    .map((line) =>
      !install && INSTALL_LINE.test(line)
        ? `npm ls --depth=0 > /dev/null  # [walkthrough.ts] "${line.trim()}" replaced: dependencies are installed already (--install runs it)`
        : line,
    )
    .join("\n");
  const prelude = [
    "# Added by scripts/checks/walkthrough.ts. Job control as in the interactive shell the block is",
    "# typed into: each background job gets its own process group, so `kill %1` stops its tree.",
    "set -m",
    "exec 2>&1",
    `trap '${TRAP_ECHO} "[walkthrough] exit $? at ${block.file}:$((LINENO + __OFFSET)): $BASH_COMMAND"' ERR`,
    "set -v",
  ];
  const offset = block.firstLine - (prelude.length + 1);
  return { script: [...prelude, body, ""].join("\n").replace("__OFFSET", String(offset)), offset };
}

async function runLocal(block: Block, opts: { timeoutMs: number; install: boolean }): Promise<boolean> {
  say(`local walkthrough: ${block.file}:${block.firstLine} (bash -euo pipefail, timeout ${secs(opts.timeoutMs)})`);
  const busy = await busyPorts();
  if (busy.length > 0) {
    console.error(
      `[walkthrough] FAIL: port${busy.length > 1 ? "s" : ""} ${busy.join(", ")} on 127.0.0.1 ${busy.length > 1 ? "are" : "is"} in use. ` +
        `The walkthrough needs ${PORTS.join(", ")} free (origins and wrangler dev); stop what listens there ` +
        `(\`ss -ltnp | grep -E ':(${PORTS.join("|")})\\b'\`) and run again.`,
    );
    return false;
  }
  const snap = await snapshot();
  const dir = await mkdtemp(join(tmpdir(), "edge-canary-walkthrough-"));
  const scriptPath = join(dir, "local.sh");
  await writeFile(scriptPath, localScript(block, opts.install).script);
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  for (const k of SCRUBBED_ENV) delete env[k];

  const started = Date.now();
  const child = spawn("bash", ["-euo", "pipefail", scriptPath], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const sid = child.pid;
  if (sid === undefined) throw new Error("could not start bash");
  // Line by line, dropping `set -v`'s echo of the ERR trap (its message follows it).
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    const keep = lines.filter((l) => !l.startsWith(`${TRAP_ECHO} "[walkthrough] exit`));
    if (keep.length > 0) process.stdout.write(`${keep.join("\n")}\n`);
  });
  child.stdout.on("close", () => partial && process.stdout.write(`${partial}\n`));
  child.stderr.pipe(process.stderr, { end: false });

  let timedOut = false;
  let interrupted: NodeJS.Signals | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    void killSession(sid, 2_000);
  }, opts.timeoutMs);
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
    void killSession(sid, 2_000);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // "exit", not "close": background jobs that outlive bash (after a failure) hold its stdout.
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  clearTimeout(timer);
  const ms = Date.now() - started;

  // What the block's own stop line left behind (give it a moment to finish stopping).
  let leftovers = sessionProcesses(sid) ?? [];
  for (let waited = 0; code === 0 && leftovers.length > 0 && waited < 5_000; waited += 200) {
    await sleep(200);
    leftovers = sessionProcesses(sid) ?? [];
  }
  await killSession(sid);
  // Let the last of the output through before the verdict (the pipes close with the session).
  await Promise.race([new Promise((r) => child.stdout.once("close", r)), sleep(2_000)]);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const stillBusy = await busyPorts();

  const failures: string[] = [];
  if (interrupted) failures.push(`interrupted by ${interrupted}`);
  else if (timedOut) failures.push(`timed out after ${secs(opts.timeoutMs)}`);
  else if (code !== 0) failures.push(`the block exited with ${code}`);
  if (code === 0 && leftovers.length > 0) {
    failures.push(`the block finished but left ${leftovers.length} process(es) running (its stop line should end them):\n${leftovers.map((p) => `    ${p.pid} ${p.cmd.slice(0, 140)}`).join("\n")}`);
  }
  if (stillBusy.length > 0) failures.push(`port(s) ${stillBusy.join(", ")} still in use after cleanup`);
  if (failures.length > 0) {
    const tail = devLogTail();
    if (tail) console.error(`[walkthrough] wrangler-dev.log (last lines, offline noise dropped):\n${tail}`);
  }
  const cleaned = await restore(snap);
  await rm(dir, { recursive: true, force: true });
  if (cleaned.length > 0) say(`cleanup: ${cleaned.join(", ")}`);
  if (failures.length > 0) {
    console.error(`[walkthrough] local: FAIL after ${secs(ms)}: ${failures.join("; ")}`);
    return false;
  }
  say(`local: ok in ${secs(ms)}, every process stopped by the block itself, ports free`);
  return true;
}

// ---------------------------------------------------------------------------- remote block

/** Logical command lines: comments and blanks dropped, `\` continuations joined. */
function commandLines(code: string, firstLine: number): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let pending: { line: number; text: string } | undefined;
  code.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === "" || line.trim().startsWith("#"))) return;
    const cont = line.endsWith("\\");
    const piece = cont ? line.slice(0, -1) : line;
    pending = pending ? { line: pending.line, text: `${pending.text} ${piece.trim()}` } : { line: firstLine + i, text: piece.trim() };
    if (!cont) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

/** Splits a command line like a shell would for simple commands: quotes, $VAR / ${VAR}. */
function shellWords(text: string, vars: Map<string, string>): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  const expand = (s: string) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name: string) => vars.get(name) ?? m);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'") {
      const j = text.indexOf("'", i + 1);
      if (j < 0) throw new Error(`unterminated ' in: ${text}`);
      cur += text.slice(i + 1, j);
      inWord = true;
      i = j;
    } else if (ch === '"') {
      const j = text.indexOf('"', i + 1);
      if (j < 0) throw new Error(`unterminated " in: ${text}`);
      cur += expand(text.slice(i + 1, j));
      inWord = true;
      i = j;
    } else if (ch === " " || ch === "\t") {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else if (ch === "#" && !inWord) {
      break;
    } else {
      const m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/.exec(text.slice(i));
      if (m) {
        cur += expand(m[0]);
        i += m[0].length - 1;
      } else {
        cur += ch;
      }
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

interface Check {
  line: number;
  text: string;
  /** What was run to check it. */
  how: string;
  run: () => Promise<string | undefined>; // undefined = ok, else the failure
}

const flagsOf = (args: string[]) => args.filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split("=")[0]!);

function missingFlags(help: string, flags: string[]): string[] {
  return flags.filter((f) => !new RegExp(`(^|[\\s,\\[|])${f.replace(/[-]/g, "\\-")}(?![A-Za-z0-9-])`, "m").test(help));
}

const cleanOutput = (out: string) =>
  out
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((l) => !/^npm warn /.test(l))
    .join("\n");

const indent = (s: string, n = 12) =>
  s
    .trim()
    .split("\n")
    .slice(0, n)
    .map((l) => `      | ${l}`)
    .join("\n");

function wranglerHelpCheck(line: number, text: string, words: string[], env: NodeJS.ProcessEnv): Check {
  const firstFlag = words.findIndex((w) => w.startsWith("-"));
  const positionals = firstFlag < 0 ? words : words.slice(0, firstFlag);
  const flags = flagsOf(words);
  const args = ["wrangler", ...positionals, "--help"];
  return {
    line,
    text,
    how: `npx ${args.join(" ")}`,
    run: async () => {
      const r = await run("npx", args, { env });
      const help = cleanOutput(r.out);
      if (r.code !== 0) return `exit ${r.code}\n${indent(help)}`;
      // The usage line must be this very command: wrangler prints its parent's help (exit 0)
      // for an unknown subcommand.
      const usage = help.split("\n").find((l) => l.startsWith("wrangler"))?.trim() ?? "";
      const usageWords = usage.split(/\s+/).slice(1);
      for (const [i, w] of positionals.entries()) {
        const u = usageWords[i];
        if (u === w || (u !== undefined && /^[<[]/.test(u))) continue;
        return `"wrangler ${positionals.join(" ")}" is not a wrangler command here: --help shows "${usage}"`;
      }
      const missing = missingFlags(help, flags);
      if (missing.length > 0) return `flag(s) not in its --help: ${missing.join(", ")}\n${indent(help, 30)}`;
      return undefined;
    },
  };
}

function deployCheck(line: number, text: string, words: string[], routesLine: string | undefined, env: NodeJS.ProcessEnv): Check {
  return {
    line,
    text,
    how: `npx wrangler deploy --dry-run --outdir <tmp> --config <copy of wrangler.jsonc${routesLine ? " + the block's routes line" : ""}>${words.length > 1 ? ` ${words.slice(1).join(" ")}` : ""}`,
    run: async () => {
      const dir = await mkdtemp(join(tmpdir(), "edge-canary-deploy-check-"));
      try {
        // The copy lives outside the repository, so `main` becomes absolute.
        // The routes line goes right after the opening brace, as the README says.
        const jsonc = (await readFile(join(ROOT, "wrangler.jsonc"), "utf8"))
          .replace(/"main"\s*:\s*"([^"]+)"/, (_m, p: string) => `"main": ${JSON.stringify(resolve(ROOT, p))}`)
          .replace(/^\{/m, `{${routesLine ? `\n  ${routesLine.replace(/,?$/, ",")}` : ""}`)
          .replace(/"\$schema"\s*:\s*"[^"]*",?/, "");
        await writeFile(join(dir, "wrangler.jsonc"), jsonc);
        const r = await run("npx", ["wrangler", ...words, "--dry-run", "--outdir", join(dir, "out"), "--config", join(dir, "wrangler.jsonc")], { env });
        if (r.code !== 0) return `exit ${r.code}\n${indent(cleanOutput(r.out), 30)}`;
        if (!existsSync(join(dir, "out", "index.js"))) return "no bundle written to --outdir";
        if (routesLine && !/--dry-run: exiting now/.test(r.out)) return `unexpected output\n${indent(cleanOutput(r.out))}`;
        const size = (await stat(join(dir, "out", "index.js"))).size;
        return size > 0 ? undefined : "empty bundle";
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The offline form of a CLI command, if it has one. */
function offlineCliArgs(args: string[]): string[] | undefined {
  const [cmd] = args;
  if (cmd === "validate" || cmd === "override-token") return args;
  if (cmd === "push") return args.includes("--dry-run") ? args : [...args, "--dry-run"];
  if (cmd === "query") return args.includes("--sql") ? args : [...args, "--sql"];
  return undefined;
}

function cliChecks(line: number, text: string, args: string[], env: NodeJS.ProcessEnv): Check[] {
  const cmd = args[0] ?? "";
  const checks: Check[] = [
    {
      line,
      text,
      how: `npm run canary -- ${cmd} --help`,
      run: async () => {
        const r = await run("npm", ["run", "--silent", "canary", "--", cmd, "--help"], { env });
        const help = cleanOutput(r.out);
        if (r.code !== 0) return `exit ${r.code}\n${indent(help)}`;
        if (!help.includes(`npm run canary -- ${cmd}`)) return `--help does not describe "${cmd}"\n${indent(help)}`;
        const missing = missingFlags(help, flagsOf(args));
        return missing.length > 0 ? `flag(s) not in its --help: ${missing.join(", ")}\n${indent(help, 30)}` : undefined;
      },
    },
  ];
  const offline = offlineCliArgs(args);
  if (offline) {
    checks.push({
      line,
      text,
      how: `npm run canary -- ${offline.join(" ")}`,
      run: async () => {
        const r = await run("npm", ["run", "--silent", "canary", "--", ...offline], { env });
        return r.code === 0 ? undefined : `exit ${r.code}\n${indent(cleanOutput(r.out))}`;
      },
    });
  }
  return checks;
}

async function checkRemote(block: Block): Promise<boolean> {
  say(`remote walkthrough: ${block.file}:${block.firstLine}, checked offline`);
  const vars = new Map<string, string>();
  const aliases = new Map<string, string>();
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  for (const k of SCRUBBED_ENV) delete env[k];
  const routesLine = block.code
    .split("\n")
    .map((l) => l.replace(/^\s*#\s*/, "").trim())
    .find((l) => /^"routes"\s*:\s*\[/.test(l));
  const checks: Check[] = [];
  const skipped: string[] = [];

  for (const { line, text } of commandLines(block.code, block.firstLine)) {
    const words = shellWords(text, vars);
    const [w0, w1] = words;
    if (w0 === "export") {
      for (const assignment of words.slice(1)) {
        const eq = assignment.indexOf("=");
        if (eq > 0) {
          vars.set(assignment.slice(0, eq), assignment.slice(eq + 1));
          env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
        }
      }
      skipped.push(`${line}: ${text}  (environment for the commands below)`);
    } else if (w0 === "cp" && words.length === 3) {
      // `cp examples/config.json config.json`: later commands check the source file instead.
      aliases.set(words[2]!, words[1]!);
      skipped.push(`${line}: ${text}  (later uses of ${words[2]} are checked on ${words[1]})`);
    } else if (w0 === "npx" && w1 === "wrangler") {
      const rest = words.slice(2);
      checks.push(rest[0] === "deploy" ? deployCheck(line, text, rest, routesLine, env) : wranglerHelpCheck(line, text, rest, env));
    } else if (w0 === "npm" && w1 === "run" && words[2] === "canary" && words[3] === "--") {
      const args = words.slice(4).map((a) => aliases.get(a) ?? a);
      checks.push(...cliChecks(line, text, args, env));
    } else {
      skipped.push(`${line}: ${text}  (not checkable offline)`);
    }
  }
  for (const s of skipped) console.log(`  skip  ${block.file}:${s}`);

  // A few at a time: each one starts node, some bundle the Worker.
  const results: Array<string | undefined> = new Array(checks.length);
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < checks.length) {
        const i = next++;
        try {
          results[i] = await checks[i]!.run();
        } catch (e) {
          results[i] = (e as Error).message;
        }
      }
    }),
  );
  let failed = 0;
  checks.forEach((c, i) => {
    const failure = results[i];
    if (failure === undefined) console.log(`  ok    ${block.file}:${c.line}: ${c.how}`);
    else {
      failed++;
      console.log(`  FAIL  ${block.file}:${c.line}: ${c.text}\n        checked with: ${c.how}\n        ${failure}`);
    }
  });
  if (!routesLine) {
    failed++;
    console.log(`  FAIL  ${block.file}: the remote block has no \"routes\": [...] line to check with wrangler deploy --dry-run`);
  }
  const verdict = failed === 0 ? "ok" : `FAIL (${failed} of ${checks.length} checks)`;
  say(`remote: ${verdict}, ${checks.length} checks in ${secs(Date.now() - started)}`);
  return failed === 0;
}

// ---------------------------------------------------------------------------- main

const usage = "usage: npx tsx scripts/checks/walkthrough.ts [--readme README.md] [--timeout 180] [--skip-local] [--skip-remote] [--install]";

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        readme: { type: "string" },
        timeout: { type: "string" },
        "skip-local": { type: "boolean" },
        "skip-remote": { type: "boolean" },
        install: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(`${usage}\nRuns the README's local walkthrough for real and checks the Cloudflare one offline (see the header of this file).`);
    return 0;
  }
  const timeoutSec = Number(values.timeout ?? 180);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) {
    console.error(`error: --timeout must be a number of seconds\n${usage}`);
    return 2;
  }
  const started = Date.now();
  const { file, text } = await sourceFile(values.readme);
  let ok = true;
  if (!values["skip-local"]) ok = (await runLocal(extractBlock(text, file, "local"), { timeoutMs: timeoutSec * 1000, install: values.install === true })) && ok;
  if (!values["skip-remote"]) ok = (await checkRemote(extractBlock(text, file, "remote"))) && ok;
  say(`${ok ? "PASS" : "FAIL"} (${file}, wall time ${secs(Date.now() - started)})`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[walkthrough] error: ${(e as Error).message}`);
    process.exit(1);
  },
);
