// Terminal output for the demo: plain ANSI, no dependency. On a TTY the traffic line
// redraws in place a few times a second; when stdout is not a TTY (CI logs, a pipe)
// nothing is redrawn and no escape codes are written: progress lines are printed at a
// slow fixed interval instead, so a log stays short and readable. NO_COLOR disables
// colour, FORCE_COLOR enables it on a non-TTY.

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
}

const ESC = "\u001b[";

function makeColors(enabled: boolean): Colors {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `${ESC}${open}m${s}${ESC}${close}m` : s);
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    magenta: wrap(35, 39),
  };
}

export class Printer {
  readonly tty: boolean;
  readonly c: Colors;
  private liveShown = false;
  private lastLiveAt = 0;
  private readonly started = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    /** Non-TTY: minimum interval between two progress lines. */
    private readonly plainLiveEveryMs = 5_000,
  ) {
    this.tty = Boolean(out.isTTY);
    const env = process.env;
    const color = env.NO_COLOR === undefined && (this.tty || (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0"));
    this.c = makeColors(color);
  }

  /** Seconds since the demo started, for log prefixes. */
  clock(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
  }

  line(text = ""): void {
    this.clearLive();
    this.out.write(`${text}\n`);
  }

  /** A step of the demo, with the time since start. */
  step(text: string): void {
    this.line(`${this.c.dim(this.clock())}  ${text}`);
  }

  banner(title: string, subtitle: string): void {
    const rule = "=".repeat(Math.max(title.length, subtitle.length) + 4);
    this.line(this.c.bold(rule));
    this.line(this.c.bold(`  ${title}`));
    this.line(`  ${subtitle}`);
    this.line(this.c.bold(rule));
  }

  heading(index: number, total: number, title: string): void {
    this.line();
    this.line(this.c.bold(this.c.cyan(`[${index}/${total}] ${title}`)));
  }

  /** Label/value lines with aligned values. */
  table(rows: ReadonlyArray<readonly [string, string]>, indent = "    "): void {
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) this.line(`${indent}${k.padEnd(width)}  ${v}`);
  }

  /**
   * Progress text: redrawn in place on a TTY, throttled plain lines otherwise. Given
   * segments, a TTY line keeps as many leading segments as fit the terminal width (a
   * wrapped line could not be redrawn in place).
   */
  live(text: string | string[], force = false): void {
    if (this.tty) {
      const line = Array.isArray(text) ? fit(text, (this.out.columns || 80) - 1) : text;
      this.out.write(`\r${ESC}2K${line}`);
      this.liveShown = true;
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastLiveAt < this.plainLiveEveryMs) return;
    this.lastLiveAt = now;
    this.out.write(`${Array.isArray(text) ? text.join("") : text}\n`);
  }

  /** Ends the live line so the next output starts on a fresh line. */
  endLive(): void {
    this.lastLiveAt = 0;
    this.clearLive();
  }

  check(ok: boolean, label: string, detail: string): void {
    const mark = ok ? this.c.green("PASS") : this.c.red("FAIL");
    this.line(`    ${mark}  ${label}${detail ? this.c.dim(`  (${detail})`) : ""}`);
  }

  /** A two-colour bar: stable share left, canary share right. */
  splitBar(canaryShare: number, width = 30): string {
    const canaryCells = Math.round(Math.min(1, Math.max(0, canaryShare)) * width);
    const full = this.tty ? "\u2588" : "#";
    const empty = this.tty ? "\u2591" : "-";
    return `${this.c.green(empty.repeat(width - canaryCells))}${this.c.yellow(full.repeat(canaryCells))}`;
  }

  private clearLive(): void {
    if (this.tty && this.liveShown) {
      this.out.write(`\r${ESC}2K`);
      this.liveShown = false;
    }
  }
}

const visibleLength = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, "").length;

/** Joins leading segments while the visible width stays within `width`. */
export function fit(segments: string[], width: number): string {
  let out = "";
  let used = 0;
  for (const seg of segments) {
    const len = visibleLength(seg);
    if (used + len > width) break;
    out += seg;
    used += len;
  }
  return out;
}

export const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`;
export const num = (n: number): string => n.toLocaleString("en-US");
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
/** "0.3 s after" / "0.1 s before" */
export const relative = (ms: number): string => (ms >= 0 ? `${secs(ms)} after` : `${secs(-ms)} before`);
