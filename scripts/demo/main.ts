// `npm start`: the local edge-canary demo. Starts two real origins, seeds a config into
// local KV with the wrangler CLI, runs the Worker (and its coordinator Durable Object)
// under `wrangler dev`, then plays the phases below against it with a crowd of
// simulated users, reads the admin API like an operator would, and checks what users
// saw and what the coordinator decided. Exit code 0 only when every check held, so CI
// can run `npm start -- --quick`.
//   npm start                 ~3 min
//   npm start -- --quick      ~1.5 min, for CI
//   options: --users N (default 200), --concurrency N (default 20), --rps N (cap on
//            requests per second, to rehearse a slow machine),
//            --only <phase,...> (run these phases, then "where next"; names in PHASES),
//            --keep (leave the Worker running at the end for the dashboard and CLI)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOrigin, type OriginServer } from "../lib/origin-server.js";
import { AdminClient } from "./admin.js";
import { DEMO_ROUTE, DEMO_SYNC_MS, demoConfig, firstWeight, routeOf, writeConfigFile } from "./config.js";
import type { CheckResult, DemoContext, Phase } from "./context.js";
import { waitForConfig } from "./convergence.js";
import { autoRollback, rollout } from "./engine-phases.js";
import { canaryDown, rampUp, split, whereNext } from "./phases.js";
import { shadow } from "./shadow-phase.js";
import { num, Printer, secs } from "./print.js";
import { freePort, groupAlive, Lifecycle, workerdPids } from "./processes.js";
import { liveLine, printWindow } from "./report.js";
import { Traffic, type WindowStats } from "./traffic.js";
import { kvPut, startDev, waitReady, WranglerError, type DevServer } from "./wrangler.js";

/** The demo's phases by name, in order (whereNext always ends a run). Add a scenario by adding a Phase. */
const PHASES: Record<string, Phase> = { split, ramp: rampUp, down: canaryDown, rollout, rollback: autoRollback, shadow };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const REFRESH_MS = 1_000;
const ADMIN_TOKEN = "demo-token";

interface Args {
  quick: boolean;
  users: number;
  concurrency: number;
  rps: number;
  keep: boolean;
  /** Phase names to run (PHASES keys); empty: all of them. */
  only: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, users: 200, concurrency: 20, rps: 0, keep: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === "--quick") args.quick = true;
    else if (a === "--keep") args.keep = true;
    else if (a === "--users") args.users = next();
    else if (a === "--concurrency") args.concurrency = next();
    else if (a === "--rps") args.rps = next();
    else if (a === "--only") {
      const names = (argv[++i] ?? "").split(",").filter(Boolean);
      const unknown = names.filter((n) => !(n in PHASES));
      if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes phase names from ${Object.keys(PHASES).join(", ")} (got "${argv[i] ?? ""}")`);
      args.only = names;
    } else if (a === "--help" || a === "-h") {
      console.log(`usage: npm start [-- --quick] [--users N] [--concurrency N] [--rps N] [--only ${Object.keys(PHASES).join(",")}] [--keep]`);
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const print = new Printer(process.stdout, args.quick ? 3_000 : 5_000);
  const life = new Lifecycle();
  const log = (msg: string) => print.step(print.c.yellow(msg));
  life.handleSignals(log);
  const checks: CheckResult[] = [];
  const phases = [...Object.entries(PHASES).filter(([name]) => args.only.length === 0 || args.only.includes(name)).map(([, p]) => p), whereNext];
  const started = Date.now();
  let keepState = false;
  let dev: DevServer | undefined;

  print.banner(
    "edge-canary local demo",
    `real origins + wrangler dev + local KV, ${args.users} simulated users${args.rps ? ` at <= ${args.rps} req/s` : ""}${args.quick ? " (--quick)" : ""}`,
  );

  const stateDir = await mkdtemp(join(tmpdir(), "edge-canary-demo-"));
  life.add("remove demo state", async () => {
    if (keepState) print.step(`kept ${stateDir} for inspection (wrangler-dev.log, local KV state)`);
    else await rm(stateDir, { recursive: true, force: true });
  });
  const paths = { stateDir, devLog: join(stateDir, "wrangler-dev.log"), configFile: join(stateDir, "config.json") };
  const wranglerOpts = { root: ROOT, persistTo: join(stateDir, "state") };

  try {
    // 1. Origins.
    const stable = await startOrigin("stable");
    life.add("close stable origin", () => stable.close());
    const canary = await startOrigin("canary");
    life.add("close canary origin", () => canary.close());
    print.step(`origins up: stable ${stable.url}   canary ${canary.url}`);

    // 2. Config into local KV, then wrangler dev.
    const config = demoConfig(stable.url, canary.url, 20);
    const parsed = await writeConfigFile(paths.configFile, config);
    print.step(
      `config: route "www", release ${routeOf(parsed).release}, weight ${routeOf(parsed).weight}%, sync every ${parsed.sync.intervalMs} ms -> ${paths.configFile}`,
    );
    const putMs = await kvPut(wranglerOpts, "CANARY_CONFIG", "config", paths.configFile);
    print.step(`seeded local KV: wrangler kv key put --binding CANARY_CONFIG config --path config.json --local --persist-to <tmp> (${secs(putMs)})`);

    const port = await freePort();
    const inspectorPort = await freePort();
    dev = startDev({
      ...wranglerOpts,
      port,
      inspectorPort,
      vars: { CONFIG_REFRESH_MS: String(REFRESH_MS), ADMIN_TOKEN },
      logFile: paths.devLog,
    });
    const devProc = dev.process;
    life.add("stop wrangler dev", async () => {
      const workerd = workerdPids(devProc.pid);
      const { forced, ms } = await devProc.stop();
      const left = workerdPids(devProc.pid);
      print.step(
        `stopped wrangler dev (process group ${devProc.pid}, ${workerd.length} workerd) in ${secs(ms)}` +
          `${forced ? " with SIGKILL" : ""}; left in the group: ${groupAlive(devProc.pid) ? print.c.red("some") : "none"}` +
          `${left.length > 0 ? print.c.red(` workerd ${left.join(",")}`) : ""}`,
      );
    });
    print.step(`wrangler dev starting on ${dev.url} (--var CONFIG_REFRESH_MS:${REFRESH_MS} --var ADMIN_TOKEN:${ADMIN_TOKEN})`);
    const readyMs = await waitReady(dev, 90_000);
    print.step(`Worker answering after ${secs(readyMs)} (pid ${devProc.pid}, log ${paths.devLog})`);
    // A release serves 0% until its coordinator has confirmed it: wait for that, by
    // observation, before the first user arrives (or the first users' cohorts would flip).
    const first = await waitForConfig(dev.url, undefined, routeOf(parsed), { refreshMs: REFRESH_MS, timeoutMs: 30_000 });
    print.step(
      `coordinator confirmed ${routeOf(parsed).release}: edge serving ${firstWeight(routeOf(parsed))}% ${secs(first.ms)} later ${print.c.dim(`(${first.how})`)}`,
    );

    // 3. The phases.
    const traffic = new Traffic(dev.url, args.users, args.concurrency, routeOf(parsed).sticky.cookieName, args.rps);
    life.add("stop traffic", () => traffic.stop());
    const workerUrl = dev.url;
    let currentPhase = "";
    const ctx: DemoContext = {
      workerUrl,
      admin: new AdminClient(workerUrl, ADMIN_TOKEN),
      adminToken: ADMIN_TOKEN,
      syncMs: DEMO_SYNC_MS,
      origins: { stable, canary },
      traffic,
      print,
      quick: args.quick,
      refreshMs: REFRESH_MS,
      config,
      parsed,
      paths,
      windows: [],
      seconds: (normal, quick) => (args.quick ? quick : normal) * 1000,
      async setConfig(next, watch) {
        const nextParsed = await writeConfigFile(paths.configFile, next);
        const ms = await kvPut(wranglerOpts, "CANARY_CONFIG", "config", paths.configFile);
        const routeId = watch?.routeId ?? DEMO_ROUTE;
        const convergence = await waitForConfig(workerUrl, ctx.parsed.routes.find((r) => r.id === routeId), routeOf(nextParsed, routeId), {
          refreshMs: REFRESH_MS,
          timeoutMs: 30_000,
          path: watch?.path,
        });
        ctx.config = next;
        ctx.parsed = nextParsed;
        return { putMs: ms, convergence };
      },
      async setOriginMode(origin: OriginServer, mode) {
        const res = await fetch(`${origin.url}/__origin/mode`, { method: "POST", body: JSON.stringify(mode) });
        if (!res.ok) throw new Error(`POST ${origin.url}/__origin/mode: HTTP ${res.status}`);
        await res.arrayBuffer();
      },
      async drive(label, durationMs): Promise<WindowStats> {
        const weight = routeOf(ctx.parsed).weight;
        const s = await traffic.run({
          label,
          weight,
          durationMs,
          onProgress: (snap) => print.live(liveLine(print, snap)),
          progressEveryMs: print.tty ? 200 : 500,
        });
        print.endLive();
        if (life.stopping) throw new Error("interrupted");
        printWindow(print, s);
        ctx.windows.push(s);
        return s;
      },
      check(label, ok, detail = "") {
        checks.push({ phase: currentPhase, label, ok, detail });
        print.check(ok, label, detail);
      },
    };

    for (const [i, phase] of phases.entries()) {
      if (life.stopping) break;
      currentPhase = phase.title;
      print.heading(i + 1, phases.length, phase.title);
      try {
        await phase.run(ctx);
      } catch (e) {
        if (life.stopping) break;
        ctx.check(`phase ran to the end`, false, (e as Error).message);
        break;
      }
    }

    // 4. Verdict.
    if (life.stopping) return life.signalExitCode ?? 1;
    const failed = checks.filter((c) => !c.ok);
    const total = ctx.windows.reduce((n, w) => n + w.requests, 0);
    print.line();
    if (failed.length === 0) {
      print.line(print.c.green(print.c.bold(`All ${checks.length} checks passed`)) + ` (${num(total)} requests through wrangler dev).`);
    } else {
      print.line(print.c.red(print.c.bold(`${failed.length} of ${checks.length} checks failed:`)));
      for (const c of failed) print.line(`    ${c.phase}: ${c.label} (${c.detail})`);
    }
    keepState = failed.length > 0;
    if (args.keep && !life.stopping) {
      print.line();
      print.step(
        `--keep: the Worker stays up at ${workerUrl}: dashboard ${workerUrl}/__canary/?token=${ADMIN_TOKEN}, ` +
          `npm run canary -- watch --url ${workerUrl} --token ${ADMIN_TOKEN}. Ctrl-C stops everything.`,
      );
      await new Promise<never>(() => {});
    }
    return failed.length === 0 && checks.length > 0 ? 0 : 1;
  } catch (e) {
    if (life.stopping) return life.signalExitCode ?? 1;
    keepState = true;
    print.line();
    const err = e as Error;
    print.line(print.c.red(`demo failed: ${err instanceof WranglerError ? err.message : (err.stack ?? String(e))}`));
    return 1;
  } finally {
    print.line();
    await life.shutdown(log);
    print.step(`done in ${secs(Date.now() - started)}`);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
