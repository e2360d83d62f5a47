// The coordinator's mismatch samples: the newest SAMPLES_KEPT mismatches of the current
// release, from the isolates' syncs (SyncRequest.mismatches), for GET /routes/:id/shadow.
// Bounded and sanitised here, whatever an isolate sends: only the fields of MismatchSample,
// strings cut to their limits, so a sample can never carry a cookie, an auth header or a
// query string the edge did not strip, nor grow the stored value. Kept in the `meta` table
// (one small JSON value, written only by a sync that brings samples) and dropped with the
// release (coordinator.ts apply).
import { MAX_DETAIL, SAMPLES_KEPT, SAMPLES_PER_SYNC, type MismatchPart, type MismatchSample } from "../core/shadow/shadow-outcome.js";

export interface StoredSamples {
  release: string;
  /** Newest first, at most SAMPLES_KEPT. */
  samples: MismatchSample[];
}

const PARTS: ReadonlySet<string> = new Set<MismatchPart>(["status", "headers", "body", "json"]);
const MAX_PATH = 512;
const MAX_METHOD = 16;

const str = (v: unknown, max: number): string | undefined => (typeof v === "string" ? v.slice(0, max) : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** One sample as kept, or undefined when it is not a sample of `release`. The path loses any query string. */
export function sanitizeSample(raw: unknown, release: string): MismatchSample | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  const at = num(r.at);
  const part = str(r.part, 16);
  const path = str(r.path, 4096);
  if (at === undefined || part === undefined || !PARTS.has(part) || path === undefined || r.release !== release) return undefined;
  return {
    at,
    release,
    method: (str(r.method, MAX_METHOD) ?? "").toUpperCase(),
    path: path.split("?")[0]!.slice(0, MAX_PATH),
    part: part as MismatchPart,
    detail: str(r.detail, MAX_DETAIL) ?? "",
    stableStatus: num(r.stableStatus) ?? 0,
    canaryStatus: num(r.canaryStatus) ?? 0,
  };
}

/** The stored samples with a sync's added: newest first (by `at`), at most SAMPLES_KEPT, at most SAMPLES_PER_SYNC taken per sync. */
export function addSamples(stored: StoredSamples | undefined, release: string, incoming: readonly unknown[]): StoredSamples {
  const fresh = incoming
    .slice(0, SAMPLES_PER_SYNC)
    .map((s) => sanitizeSample(s, release))
    .filter((s): s is MismatchSample => s !== undefined);
  const all = [...fresh, ...(stored?.release === release ? stored.samples : [])];
  all.sort((a, b) => b.at - a.at);
  return { release, samples: all.slice(0, SAMPLES_KEPT) };
}
