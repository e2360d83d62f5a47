// The KV config (binding CANARY_CONFIG, key CONFIG_KEY), cached per isolate: the one
// reader of that binding, used by the request path, the admin API and the coordinator
// alike, so it lives with none of them. The request path never waits on KV once a good
// config is cached: stale entries are refreshed in the background (ctx.waitUntil). An
// invalid or missing document never replaces the last good config; its error is logged
// once per distinct document and kept for the status API. Only settled values live in
// module scope (never promises), as the Workers I/O model requires.
import { parseConfig } from "../core/config/parse.js";
import type { Config } from "../core/config/schema.js";
import { murmur3 } from "../core/bucket.js";

/** KV key of the config document. */
export const CONFIG_KEY = "config";

export interface ConfigError {
  at: number;
  messages: string[];
  /** Hash of the rejected document (absent when the key is missing). */
  hash?: string;
}

export interface ConfigView {
  config?: Config;
  hash?: string;
  loadedAt?: number;
  /** Problem with the latest document read, while the last good config (if any) serves. */
  error?: ConfigError;
}

const STUCK_REFRESH_MS = 10_000;

export const hashText = (text: string): string => murmur3(text, 0x9747b28c).toString(16).padStart(8, "0");

export class ConfigCache {
  private good: { config: Config; hash: string; text: string; loadedAt: number } | undefined;
  private error: ConfigError | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshStartedAt: number | undefined;
  private loggedErrorFor: string | undefined;
  private warnedFor: string | undefined;
  private cachedView: ConfigView | undefined;

  /**
   * Current view; triggers a background refresh when older than refreshMs. Synchronous
   * once a good config is cached (no promise, no microtask on the hot path); a promise
   * only while the isolate has none and must wait for KV.
   */
  get(kv: KVNamespace, now: number, refreshMs: number, waitUntil: (p: Promise<unknown>) => void): ConfigView | Promise<ConfigView> {
    if (this.good) {
      const refreshing = this.refreshStartedAt !== undefined && now - this.refreshStartedAt < STUCK_REFRESH_MS;
      if (now - this.checkedAt >= refreshMs && !refreshing) {
        this.refreshStartedAt = now;
        waitUntil(this.refresh(kv, now));
      }
      return this.view();
    }
    return this.refresh(kv, now).then(() => this.view());
  }

  /** Re-reads KV now and waits for it (the coordinator uses this; the edge never waits). */
  async refreshNow(kv: KVNamespace, now: number): Promise<ConfigView> {
    await this.refresh(kv, now);
    return this.view();
  }

  /** The current view; one object per change, not per request (the hot path reads it). */
  view(): ConfigView {
    this.cachedView ??= this.good
      ? { config: this.good.config, hash: this.good.hash, loadedAt: this.good.loadedAt, error: this.error }
      : { error: this.error };
    return this.cachedView;
  }

  private async refresh(kv: KVNamespace, now: number): Promise<void> {
    try {
      const text = await kv.get(CONFIG_KEY, "text");
      this.checkedAt = now;
      if (text === null) {
        this.fail(now, [`KV key "${CONFIG_KEY}" is missing: put a config with \`npm run canary -- push\` or \`wrangler kv key put\``]);
        return;
      }
      if (this.good?.text === text) {
        this.setError(undefined);
        return;
      }
      const hash = hashText(text);
      const parsed = parseConfig(text);
      if (parsed.warnings.length > 0 && this.warnedFor !== hash) {
        this.warnedFor = hash;
        console.warn(JSON.stringify({ level: "warn", msg: "edge-canary config has duplicate keys; the last of each is used", hash, warnings: parsed.warnings }));
      }
      if (!parsed.ok) {
        this.fail(now, parsed.error, hash);
        return;
      }
      this.good = { config: parsed.value, hash, text, loadedAt: now };
      this.cachedView = undefined;
      this.setError(undefined);
    } catch (e) {
      this.fail(now, [`KV read failed: ${(e as Error).message}`]);
    } finally {
      this.refreshStartedAt = undefined;
    }
  }

  private setError(error: ConfigError | undefined): void {
    if (error === undefined && this.error === undefined) return;
    this.error = error;
    this.cachedView = undefined;
  }

  private fail(now: number, messages: string[], hash?: string): void {
    this.setError({ at: now, messages, hash });
    const key = `${hash ?? "missing"}:${messages.join("|")}`;
    if (this.loggedErrorFor === key) return;
    this.loggedErrorFor = key;
    console.error(
      JSON.stringify({
        level: "error",
        msg: "edge-canary config rejected; last good config keeps serving",
        servingHash: this.good?.hash ?? null,
        rejectedHash: hash ?? null,
        errors: messages,
      }),
    );
  }
}
