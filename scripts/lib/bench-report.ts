// What every benchmark report says about how it was run, and the argument parsing the
// in-workerd microbenchmarks share (n calls per round, rounds, results file).
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** The command as the user typed it, e.g. `npm run bench -- --floor`. */
export const invokedAs = (npmScript: string): string =>
  [`npm run ${npmScript}`, ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");

/** The machine line of a report: these are shared machines, so say so. */
export const machineLine = (): string =>
  `${cpus().length} CPUs, ${cpus()[0]?.model ?? "unknown"}, Node ${process.version}, ${process.platform}/${process.arch}; shared machine, other jobs may run`;

/** A difference with its sign: +1.20, -9.08. */
export const signed = (x: number, digits: number): string => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;

/**
 * A microbenchmark report: title, date, machine, command, the method lines, then the
 * results table; printed and written to `out`.
 */
export function writeMicroReport(out: string, title: string, npmScript: string, method: string[], table: string[]): void {
  const md = [
    `# ${title}`,
    "",
    `- date: ${new Date().toISOString()}`,
    `- machine: ${machineLine()}`,
    `- command: \`${invokedAs(npmScript)}\``,
    ...method.map((line) => `- ${line}`),
    "",
    ...table,
    "",
  ].join("\n");
  console.log(md);
  writeFileSync(out, md);
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** --n (calls per round), --rounds, --out, plus a script's own options; n and rounds checked. */
export function readMicroArgs(
  defaults: { n: number; rounds: number; out: string },
  own: Options,
): { n: number; rounds: number; out: string; values: Record<string, unknown> } {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: String(defaults.n) },
      rounds: { type: "string", default: String(defaults.rounds) },
      out: { type: "string", default: defaults.out },
      ...own,
    },
  });
  const all = values as Record<string, unknown>;
  const n = Number(all.n);
  const rounds = Number(all.rounds);
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(rounds) && rounds >= 1)) throw new Error("--n and --rounds must be integers >= 1");
  return { n, rounds, out: resolve(String(all.out)), values: all };
}
