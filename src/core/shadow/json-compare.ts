// Structural comparison of two JSON documents, for `shadow.compare: "json"`: ignored
// paths dropped, numbers equal within a relative tolerance, and the first few differing
// paths reported the way the config names them (`items.3.price`). Pure, and bounded:
// it stops walking once it has MAX_PATHS differences, so a totally different document
// costs no more than a few.
import { clipDetail } from "./compare.js";

/** Differing paths reported per mismatch. */
export const MAX_PATHS = 5;

export interface JsonCompareOptions {
  /** Dot-separated paths, `*` for any key or array index (route.shadow.ignore). */
  ignore: readonly string[];
  /** Relative difference under which two numbers are equal, 0..1. */
  numericTolerance: number;
}

/** Parsed ignore patterns, memoised per config array (the same array for the route's life). */
const patterns = new WeakMap<readonly string[], string[][]>();
function patternsOf(ignore: readonly string[]): string[][] {
  let p = patterns.get(ignore);
  if (p === undefined) patterns.set(ignore, (p = ignore.map((s) => s.split("."))));
  return p;
}

function ignored(path: readonly string[], pats: readonly string[][]): boolean {
  outer: for (const pat of pats) {
    if (pat.length !== path.length) continue;
    for (let i = 0; i < pat.length; i++) if (pat[i] !== "*" && pat[i] !== path[i]) continue outer;
    return true;
  }
  return false;
}

export function numbersAgree(a: number, b: number, tolerance: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

const kind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** The differing paths (at most MAX_PATHS; "" is the document itself), empty when the documents agree. */
export function jsonDifferences(stable: unknown, canary: unknown, opts: JsonCompareOptions): string[] {
  const out: string[] = [];
  const pats = patternsOf(opts.ignore);
  const path: string[] = [];
  const walk = (a: unknown, b: unknown): void => {
    if (out.length >= MAX_PATHS) return;
    if (path.length > 0 && pats.length > 0 && ignored(path, pats)) return;
    const ka = kind(a);
    if (ka !== kind(b)) return void out.push(path.join("."));
    if (ka === "number") {
      if (!numbersAgree(a as number, b as number, opts.numericTolerance)) out.push(path.join("."));
      return;
    }
    if (ka === "array") {
      const x = a as unknown[];
      const y = b as unknown[];
      const n = Math.max(x.length, y.length);
      for (let i = 0; i < n && out.length < MAX_PATHS; i++) {
        path.push(String(i));
        if (i >= x.length || i >= y.length) {
          if (!ignored(path, pats)) out.push(path.join("."));
        } else walk(x[i], y[i]);
        path.pop();
      }
      return;
    }
    if (ka === "object") {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      for (const key of Object.keys(x)) {
        if (out.length >= MAX_PATHS) return;
        path.push(key);
        if (!Object.hasOwn(y, key)) {
          if (!ignored(path, pats)) out.push(path.join("."));
        } else walk(x[key], y[key]);
        path.pop();
      }
      for (const key of Object.keys(y)) {
        if (out.length >= MAX_PATHS) return;
        if (Object.hasOwn(x, key)) continue;
        path.push(key);
        if (!ignored(path, pats)) out.push(path.join("."));
        path.pop();
      }
      return;
    }
    if (a !== b) out.push(path.join("."));
  };
  walk(stable, canary);
  return out;
}

/** Parses a body as JSON; undefined when it is not JSON. */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/**
 * Detail of a JSON mismatch, else undefined. Bodies that are not JSON are compared as
 * text (equal text agrees), so an HTML error page on both sides is no mismatch.
 */
export function compareJsonBodies(stableText: string, canaryText: string, opts: JsonCompareOptions): string | undefined {
  const a = parseJson(stableText);
  const b = parseJson(canaryText);
  if (!a || !b) {
    if (stableText === canaryText) return undefined;
    return !a && !b ? "neither body is JSON, and they differ" : a ? "canary body is not JSON" : "stable body is not JSON";
  }
  const paths = jsonDifferences(a.value, b.value, opts);
  if (paths.length === 0) return undefined;
  return clipDetail(paths.map((p) => (p === "" ? "(document)" : p)).join(", "));
}
