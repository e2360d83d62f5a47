// What a demo phase gets to work with, and the check ledger that decides the exit code.
// A phase is a title plus `run(ctx)`; the demo is a list of them (scripts/demo/main.ts), so
// a new scenario is one more entry that uses the same context: change the config, drive
// traffic, poke the origins, read the admin API, record checks.
import type { OriginServer } from "../lib/origin-server.js";
import type { AdminClient } from "./admin.js";
import type { Config, ConfigInput } from "../../src/core/config/schema.js";
import type { Convergence } from "./convergence.js";
import type { Printer } from "./print.js";
import type { Traffic, WindowStats } from "./traffic.js";

export interface Phase {
  title: string;
  run(ctx: DemoContext): Promise<void>;
}

export interface CheckResult {
  phase: string;
  label: string;
  ok: boolean;
  detail: string;
}

export interface DemoContext {
  /** Base URL of `wrangler dev`. */
  workerUrl: string;
  /** The admin API (bearer `adminToken`): rollout status and audit log. */
  admin: AdminClient;
  adminToken: string;
  /** sync.intervalMs of the demo config: how often isolates hear from the coordinator. */
  syncMs: number;
  origins: { stable: OriginServer; canary: OriginServer };
  traffic: Traffic;
  print: Printer;
  quick: boolean;
  /** How often the Worker re-reads KV (the CONFIG_REFRESH_MS var we started it with). */
  refreshMs: number;
  /** The config currently in KV (input form, as written) and its parsed form. */
  config: ConfigInput;
  parsed: Config;
  /**
   * Writes a config to local KV with `wrangler kv key put` and waits until the Worker
   * serves it (a new release: until its coordinator has confirmed it, see convergence.ts),
   * as seen on the demo route, or on `watch.routeId` probed at `watch.path`.
   */
  setConfig(config: ConfigInput, watch?: { routeId: string; path: string }): Promise<{ putMs: number; convergence: Convergence }>;
  /** Changes an origin's fault injection (POST /__origin/mode). */
  setOriginMode(
    origin: OriginServer,
    mode: { failRate?: number; failStatus?: number; delayMs?: number; quoteBug?: boolean; reset?: boolean },
  ): Promise<void>;
  /** Phase duration: the normal or the --quick value, in ms. */
  seconds(normal: number, quick: number): number;
  /** Drives traffic with a live progress line and prints the window's report. */
  drive(label: string, durationMs: number): Promise<WindowStats>;
  /** Traffic windows so far, oldest first. */
  windows: WindowStats[];
  /** Records (and prints) a pass/fail check; any failure makes the exit code 1. */
  check(label: string, ok: boolean, detail?: string): void;
  /** Where things are, for the closing notes. */
  paths: { stateDir: string; devLog: string; configFile: string };
}
