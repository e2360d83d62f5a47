// What every benchmark report says about how it was run (date, machine, command), and
// how it states a paired result: the median over rounds with the spread of the rounds.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { median } from "./median.js";

/** The command as the user typed it, e.g. `npm run bench -- --pin`. */
export const invokedAs = (npmScript: string): string =>
  [`npm run ${npmScript}`, ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");

/** The machine line of a report: these are shared machines, so say so. */
export const machineLine = (): string =>
  `${cpus().length} CPUs, ${cpus()[0]?.model ?? "unknown"}, Node ${process.version}, ${process.platform}/${process.arch}; shared machine, other jobs may run`;

/** A difference with its sign: +1.20, -9.08. */
export const signed = (x: number, digits: number): string => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;

/** Per-round values as "median (min to max)": the headline and how far the rounds spread. */
export const medianRange = (xs: readonly number[], digits: number): string =>
  xs.length === 0 ? "n/a" : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)} to ${Math.max(...xs).toFixed(digits)})`;

/** Title, date, machine, command and the method lines, then the body; printed and written to `out`. */
export function writeReport(out: string, title: string, npmScript: string, method: readonly string[], body: readonly string[]): void {
  const md = [
    `# ${title}`,
    "",
    `- date: ${new Date().toISOString()}`,
    `- machine: ${machineLine()}`,
    `- command: \`${invokedAs(npmScript)}\``,
    ...method.map((line) => `- ${line}`),
    "",
    ...body,
    "",
  ].join("\n");
  console.log(md);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
}

/** A report a benchmark built line by line, written to `out` (its folder made if missing). */
export function writeLines(out: string, lines: readonly string[]): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${lines.join("\n")}\n`);
  console.log(`\nwritten to ${out}`);
}
