// The Worker's env vars (wrangler.jsonc "vars"), parsed into one typed settings object
// with defaults and validation. A bad value is logged once and its default serves: a
// typo in a var must neither take the edge down nor quietly stop config refreshes.
// Parsed again only when the raw strings change (never, in production).
import { DEFAULT_ADMIN_BASE_PATH } from "../core/admin-protocol.js";

export interface WorkerSettings {
  /** CONFIG_REFRESH_MS: how often an isolate re-reads the KV config in the background, ms; 0 on every request. Default 10000. */
  configRefreshMs: number;
  /** ADMIN_BASE_PATH: base path of the admin API and dashboard, never proxied. Default /__canary. */
  adminBasePath: string;
}

export const DEFAULT_SETTINGS: Readonly<WorkerSettings> = { configRefreshMs: 10_000, adminBasePath: DEFAULT_ADMIN_BASE_PATH };

/** The vars as the runtime hands them over: strings, or absent. */
export interface SettingsVars {
  CONFIG_REFRESH_MS?: string;
  ADMIN_BASE_PATH?: string;
}

const MAX_REFRESH_MS = 3_600_000;
const BASE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/** Settings for `vars`, and one message per var that was rejected (its default serves). Empty or absent vars take their default silently. */
export function parseWorkerSettings(vars: SettingsVars): { settings: WorkerSettings; problems: string[] } {
  const problems: string[] = [];
  const settings = { ...DEFAULT_SETTINGS };
  const refresh = vars.CONFIG_REFRESH_MS?.trim();
  if (refresh) {
    const ms = Number(refresh);
    if (/^\d+$/.test(refresh) && ms <= MAX_REFRESH_MS) settings.configRefreshMs = ms;
    else problems.push(`CONFIG_REFRESH_MS ${JSON.stringify(vars.CONFIG_REFRESH_MS)} must be a whole number of ms from 0 to ${MAX_REFRESH_MS}; using ${DEFAULT_SETTINGS.configRefreshMs}`);
  }
  const base = vars.ADMIN_BASE_PATH?.trim();
  if (base) {
    if (BASE_PATH.test(base)) settings.adminBasePath = base;
    else problems.push(`ADMIN_BASE_PATH ${JSON.stringify(vars.ADMIN_BASE_PATH)} must be a path like /__canary (letters, digits, . _ ~ - between slashes, no trailing slash); using ${DEFAULT_SETTINGS.adminBasePath}`);
  }
  return { settings, problems };
}

/** Per isolate: the settings of an env, parsed once per distinct pair of raw values; each problem is logged once. */
export class WorkerSettingsCache {
  private last: { refresh: string | undefined; base: string | undefined; settings: WorkerSettings } | undefined;
  private readonly logged = new Set<string>();

  of(env: SettingsVars): WorkerSettings {
    const refresh = env.CONFIG_REFRESH_MS;
    const base = env.ADMIN_BASE_PATH;
    const last = this.last;
    if (last && last.refresh === refresh && last.base === base) return last.settings;
    const { settings, problems } = parseWorkerSettings({ CONFIG_REFRESH_MS: refresh, ADMIN_BASE_PATH: base });
    for (const p of problems) {
      if (this.logged.has(p)) continue;
      this.logged.add(p);
      console.error(JSON.stringify({ level: "error", msg: "edge-canary setting rejected; its default serves", error: p }));
    }
    this.last = { refresh, base, settings };
    return settings;
  }
}
