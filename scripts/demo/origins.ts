// `npx tsx scripts/demo/origins.ts`: the two demo origins of the README walkthrough, on fixed
// ports so a config can name them: stable on 127.0.0.1:8001, canary on 127.0.0.1:8002
// (`--stable-port N`, `--canary-port N` to move them). Each is a real HTTP server
// (scripts/lib/origin-server.ts) whose responses name the version that served them;
// `POST /__origin/mode` turns one bad. Prints both URLs, then runs until Ctrl-C or
// SIGTERM and closes both servers.
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { startOrigin, type OriginServer } from "../lib/origin-server.js";

const usage = "usage: npx tsx scripts/demo/origins.ts [--stable-port 8001] [--canary-port 8002]";

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new Error(`${flag} must be a port number (1-65535), got "${value}"`);
  return n;
}

function portFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(p, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function main(): Promise<number> {
  let stablePort: number;
  let canaryPort: number;
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { "stable-port": { type: "string" }, "canary-port": { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: false,
    });
    if (values.help) {
      console.log(`${usage}\nStarts the stable and canary demo origins on 127.0.0.1 and runs until Ctrl-C.`);
      return 0;
    }
    stablePort = port(values["stable-port"], 8001, "--stable-port");
    canaryPort = port(values["canary-port"], 8002, "--canary-port");
    if (stablePort === canaryPort) throw new Error("--stable-port and --canary-port must differ");
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${usage}`);
    return 2;
  }

  // startOrigin does not report a busy port (the server's 'error' event is unhandled),
  // so say it here, clearly, before starting anything.
  for (const p of [stablePort, canaryPort]) {
    if (!(await portFree(p))) {
      console.error(`error: port ${p} on 127.0.0.1 is already in use (origins already running? another server?)`);
      return 1;
    }
  }

  const started: OriginServer[] = [];
  const closeAll = () => Promise.all(started.map((o) => o.close()));
  try {
    started.push(await startOrigin("stable", stablePort));
    started.push(await startOrigin("canary", canaryPort));
  } catch (e) {
    console.error(`error: cannot start the origins: ${(e as Error).message}`);
    await closeAll();
    return 1;
  }
  for (const o of started) console.log(`origin ${o.name.padEnd(6)} ${o.url}`);
  console.log("origins up; Ctrl-C to stop");

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      console.log(`origins: ${signal}, stopping`);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    process.once("SIGHUP", stop);
  });
  await closeAll();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
