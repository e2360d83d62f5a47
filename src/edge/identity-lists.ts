// Identity lists of `identitiesKv` segments: read from the CANARY_CONFIG namespace under
// the segment's key, parsed into a Set (an O(1) check per request) and cached per isolate
// like the config (config-cache.ts): a cached list is served at once and re-read in the
// background when older than the refresh interval; a cold isolate waits for its first
// read, so a listed user gets the same answer from its first request. A list is one
// identity per line (blank lines and # comments skipped) or a JSON array of strings.
// A missing, malformed or oversized list matches nobody (in every isolate alike), never
// fails a request, and is logged once per problem; a failed KV read keeps the list read
// before (a transient fault is no edit). Only settled values live here, never promises.

/** Largest list document read, in bytes (UTF-16 length as a bound). */
export const MAX_LIST_BYTES = 1_000_000;
/** Most identities in one list. */
export const MAX_LIST_IDS = 100_000;
/** Distinct keys kept (a config has at most 64 segments). */
const MAX_LISTS = 64;
const STUCK_REFRESH_MS = 10_000;

type ListSet = ReadonlySet<string>;

interface Entry {
  /** The last good list, or undefined while none was read (then nobody matches). */
  list: ListSet | undefined;
  text: string | undefined;
  checkedAt: number;
  refreshStartedAt: number | undefined;
  loggedProblem: string | undefined;
}

export class IdentityLists {
  private readonly entries = new Map<string, Entry>();

  /**
   * The list under `key`: synchronous once read in this isolate (stale lists refresh in
   * the background); a promise for the first read; undefined when it cannot be had.
   */
  get(kv: KVNamespace, key: string, now: number, refreshMs: number, waitUntil: (p: Promise<unknown>) => void): ListSet | undefined | Promise<ListSet | undefined> {
    const e = this.entries.get(key);
    if (e === undefined) return this.refresh(kv, key, now).then(() => this.entries.get(key)?.list);
    const refreshing = e.refreshStartedAt !== undefined && now - e.refreshStartedAt < STUCK_REFRESH_MS;
    if (now - e.checkedAt >= refreshMs && !refreshing) {
      e.refreshStartedAt = now;
      waitUntil(this.refresh(kv, key, now));
    }
    return e.list;
  }

  private entry(key: string, now: number): Entry {
    let e = this.entries.get(key);
    if (e === undefined) {
      if (this.entries.size >= MAX_LISTS) this.entries.delete(this.entries.keys().next().value!);
      e = { list: undefined, text: undefined, checkedAt: now, refreshStartedAt: undefined, loggedProblem: undefined };
      this.entries.set(key, e);
    }
    return e;
  }

  private async refresh(kv: KVNamespace, key: string, now: number): Promise<void> {
    let text: string | null;
    try {
      text = await kv.get(key, "text");
    } catch (err) {
      const e = this.entry(key, now);
      e.checkedAt = now;
      e.refreshStartedAt = undefined;
      this.problem(key, e, `KV read failed: ${(err as Error).message}`);
      return;
    }
    const e = this.entry(key, now);
    e.checkedAt = now;
    e.refreshStartedAt = undefined;
    if (text === null) {
      e.list = undefined;
      e.text = undefined;
      this.problem(key, e, `KV key "${key}" is missing`);
      return;
    }
    if (text === e.text) return;
    const parsed = parseIdentityList(text);
    e.text = text;
    if (typeof parsed === "string") {
      e.list = undefined;
      this.problem(key, e, parsed);
      return;
    }
    e.list = parsed;
    e.loggedProblem = undefined;
  }

  private problem(key: string, e: Entry, message: string): void {
    if (e.loggedProblem === message) return;
    e.loggedProblem = message;
    console.error(JSON.stringify({ level: "error", msg: "identity list unusable: its segment matches no one until it is fixed", key, error: message, keptPrevious: e.list !== undefined }));
  }
}

/** A list document as a Set, or what is wrong with it. */
export function parseIdentityList(text: string): ListSet | string {
  if (text.length > MAX_LIST_BYTES) return `list is over ${MAX_LIST_BYTES} bytes (${text.length})`;
  const trimmed = text.trim();
  let ids: string[];
  if (trimmed.startsWith("[")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      return `list looks like JSON but does not parse: ${(e as Error).message}`;
    }
    if (!Array.isArray(json) || !json.every((x) => typeof x === "string")) return "a JSON list must be an array of strings";
    ids = json.map((s) => s.trim()).filter((s) => s !== "");
  } else {
    ids = trimmed
      .split("\n")
      .map((s) => s.trim())
      .filter((s) => s !== "" && !s.startsWith("#"));
  }
  if (ids.length > MAX_LIST_IDS) return `list has over ${MAX_LIST_IDS} identities (${ids.length})`;
  return new Set(ids);
}
