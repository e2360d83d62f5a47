// The operator CLI: `npm run canary -- <command> [options]`. This file only dispatches;
// each command lives in scripts/cli/<command>.ts. Every error ends here and is printed
// as one line; exit codes: 0 ok, 1 failure or invalid input, 2 usage error.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { routeCommands } from "./command.js";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, processIo, type CliIo, type Command } from "./common.js";
import { eventsCommand } from "./events.js";
import { explainCommand } from "./explain.js";
import { overrideTokenCommand } from "./override-token.js";
import { pushCommand } from "./push.js";
import { queryCommand } from "./query.js";
import { schemaCommand } from "./schema.js";
import { shadowCommand } from "./shadow.js";
import { statusCommand } from "./status.js";
import { validateCommand } from "./validate.js";
import { watchCommand } from "./watch.js";

export const COMMANDS: readonly Command[] = [
  validateCommand,
  pushCommand,
  statusCommand,
  eventsCommand,
  ...routeCommands,
  shadowCommand,
  explainCommand,
  watchCommand,
  queryCommand,
  overrideTokenCommand,
  schemaCommand,
];

function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: npm run canary -- <command> [options]

edge-canary operator CLI.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run a command with --help for its options. Admin API commands read CANARY_URL and
CANARY_ADMIN_TOKEN; query reads CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN.
Exit codes: 0 ok, 1 failure or invalid input, 2 usage error.
`;
}

/** Runs one CLI invocation; never throws, returns the exit code. */
export async function main(argv: string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const sub = name === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
    if (sub) return main([sub.name, "--help"], io, commands);
    (name === undefined ? io.err : io.out)(overview(commands));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`error: unknown command "${name}"; run with --help for the list\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\nusage: npm run canary -- ${command.usage}  (--help for details)\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CliError) {
      io.err(`error: ${e.message}\n`);
      return EXIT_FAILURE;
    }
    io.err(`error: unexpected failure in ${name}: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_FAILURE;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  // npm prints its own banner lines; the exit code is what scripts should look at.
  main(process.argv.slice(2), processIo()).then((code) => {
    process.exitCode = code;
  });
}
