// Plain-text tables for terminal output: left-aligned text, right-aligned numbers, two
// spaces between columns, no borders (they survive copy-paste into tickets and logs).

export type Cell = string | number | null | undefined;

export interface TableOptions {
  /** Columns to right-align; by default every column whose cells are all numbers or "-". */
  right?: ReadonlySet<number>;
  indent?: string;
}

const text = (c: Cell): string => (c === null || c === undefined || c === "" ? "-" : String(c));

export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>, opts: TableOptions = {}): string {
  const cells = rows.map((r) => headers.map((_, i) => text(r[i])));
  const numeric = (i: number): boolean =>
    opts.right?.has(i) ??
    (cells.length > 0 && cells.every((r) => /^-?[\d.,]+(%|ms|s)?$|^-$/.test(r[i]!)) && cells.some((r) => r[i] !== "-"));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    (opts.indent ?? "") +
    r
      .map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n") + "\n";
}

/** 0.0123 -> "1.23%". */
export const percent = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : `${(x * 100).toFixed(digits)}%`;

/** Milliseconds with one decimal, "-" when unknown. */
export const ms = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : `${x.toFixed(1)}`;

/** Integer with thousands separators. */
export const count = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US");

/** "12s ago", "3m ago", "2h ago" from ms epoch values. */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

/** "2026-04-20 13:05:09Z": sortable, short, unambiguous. */
export const isoShort = (at: number): string => new Date(at).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
