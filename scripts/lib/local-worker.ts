// Runs the real edge-canary Worker locally for scripts (benchmarks, browser test): the
// deploy bundle from `wrangler deploy --dry-run`, in Miniflare (workerd) with exactly
// the bindings wrangler.jsonc declares, listening on 127.0.0.1. Faster and more
// predictable than `wrangler dev`, which is for people, not measurements.
import { execFile } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Miniflare, type MiniflareOptions, type WorkerOptions } from "miniflare";
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The request.cf of every local run (scripts, benchmarks): the two fields edge-canary
 * reads. Every Worker a benchmark compares gets the same one.
 */
export const LOCAL_CF = { colo: "LOC", country: "DE" };

export interface LocalWorker {
  url: URL;
  mf: Miniflare;
  putConfig(doc: unknown): Promise<void>;
  dispose(): Promise<void>;
}

export interface LocalWorkerOptions {
  /** Source tree to bundle (a snapshot for `--ref` runs). Default: this repository. */
  srcDir?: string;
  /** Extra vars/secrets, e.g. ADMIN_TOKEN. */
  bindings?: Record<string, string>;
  /** The config document to seed under KV key "config". */
  config?: unknown;
}

/**
 * Bundles the Worker as `wrangler deploy` would; returns the entry file path. `minify:
 * false` keeps class names (heap snapshots name constructors by them).
 */
export async function bundleWorker(srcDir = repoRoot, opts: { minify?: boolean } = {}): Promise<{ scriptPath: string; cleanup: () => Promise<void> }> {
  const outdir = await mkdtemp(join(tmpdir(), "edge-canary-bundle-"));
  const cleanup = () => rm(outdir, { recursive: true, force: true });
  try {
    await promisify(execFile)(join(repoRoot, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, ...(opts.minify === false ? ["--minify=false"] : [])], {
      cwd: srcDir,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (e) {
    await cleanup();
    const out = `${(e as { stdout?: string }).stdout ?? ""}\n${(e as { stderr?: string }).stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "");
    throw new Error(`wrangler deploy --dry-run failed in ${srcDir}:\n${out.slice(-2500)}`);
  }
  return { scriptPath: join(outdir, "index.js"), cleanup };
}

/**
 * A read-only snapshot of a git commit's tree (`git archive`, no state change), with this
 * repository's node_modules linked in, so a Worker can be built from that commit while
 * the working tree is mid-edit.
 */
export async function snapshotSource(ref: string): Promise<{ dir: string; commit: string; cleanup: () => Promise<void> }> {
  const { stdout } = await promisify(execFile)("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: repoRoot });
  const commit = stdout.trim();
  const dir = await mkdtemp(join(tmpdir(), "edge-canary-bench-src-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await promisify(execFile)("sh", ["-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", commit, dir], { cwd: repoRoot });
    await symlink(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { dir, commit, cleanup };
}

/**
 * The wrangler config read as wrangler dev reads it: bindings, compatibility date and
 * flags. wrangler types its result with its own bundled miniflare; the shape is the one
 * this package's miniflare 4 takes.
 */
async function wranglerWorkerOptions(srcDir: string): Promise<WorkerOptions> {
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  return unstable_getMiniflareWorkerOptions(join(srcDir, "wrangler.jsonc")).workerOptions as unknown as WorkerOptions;
}

/** The compatibility date of wrangler.jsonc, for the baseline Workers to run under the same one. */
export async function wranglerCompatibilityDate(srcDir = repoRoot): Promise<string> {
  return (await wranglerWorkerOptions(srcDir)).compatibilityDate ?? "2026-04-20";
}

/** Miniflare options for a bundle: wrangler.jsonc's bindings (KV, DO sqlite, AE, vars) plus `bindings`. */
export async function edgeCanaryOptions(scriptPath: string, srcDir: string, bindings: Record<string, string> = {}): Promise<MiniflareOptions> {
  const workerOptions = await wranglerWorkerOptions(srcDir);
  return {
    ...(workerOptions as object),
    name: "edge-canary",
    modules: true,
    // Module names are relative to this; the bundle lives outside the working directory.
    modulesRoot: dirname(scriptPath),
    scriptPath,
    bindings: { ...workerOptions.bindings, ...bindings },
    cf: LOCAL_CF,
    host: "127.0.0.1",
    port: 0,
  } as MiniflareOptions;
}

/**
 * Miniflare options for one of the benchmarks' plain JS baseline Workers
 * (`scripts/bench/<file>`: the passthrough, the floor, the A/B splitter), forwarding to
 * `originUrl`.
 */
export function baselineWorkerOptions(file: string, originUrl: string, compatibilityDate: string, bindings: Record<string, string> = {}): MiniflareOptions {
  return {
    name: file.replace(/\.js$/, ""),
    modules: true,
    modulesRoot: join(repoRoot, "scripts/bench"),
    scriptPath: join(repoRoot, "scripts/bench", file),
    compatibilityDate,
    bindings: { ORIGIN: originUrl, ...bindings },
    // The same request.cf as edge-canary gets (edgeCanaryOptions).
    cf: LOCAL_CF,
    host: "127.0.0.1",
    port: 0,
  };
}

export async function startLocalWorker(opts: LocalWorkerOptions = {}): Promise<LocalWorker> {
  const srcDir = opts.srcDir ?? repoRoot;
  const { scriptPath, cleanup } = await bundleWorker(srcDir);
  const mf = new Miniflare(await edgeCanaryOptions(scriptPath, srcDir, opts.bindings));
  const url = await mf.ready;
  const kv = await mf.getKVNamespace("CANARY_CONFIG");
  const putConfig = async (doc: unknown): Promise<void> => {
    await kv.put("config", typeof doc === "string" ? doc : JSON.stringify(doc));
  };
  if (opts.config !== undefined) await putConfig(opts.config);
  return {
    url,
    mf,
    putConfig,
    dispose: async () => {
      await mf.dispose();
      await cleanup();
    },
  };
}
