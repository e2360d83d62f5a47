// `override-token`: mints a signed QA override token with the Worker's own signOverride
// and OVERRIDE_SECRET from the environment, then prints it with ready-to-use curl
// lines. A token pins one variant for one route (or "*") until it expires; anyone who
// has it gets that variant, so keep the TTL short.
import { parseArgs } from "node:util";
import { RouteSchema } from "../../src/core/config/schema.js";
import { signOverride } from "../../src/core/override-token.js";
import { CliError, EXIT_OK, UsageError, helpOption, helpText, parse, parseDuration, printJson, type CliIo, type Command } from "./common.js";
import { isoShort } from "./table.js";

const usage = "override-token --variant canary|stable [--route <id>|*] [--ttl 1h] [--json]";
const summary = "Mint a signed QA override token that pins a variant (needs OVERRIDE_SECRET in the environment).";
/** Defaults of the route's `override` block (src/core/config/schema.ts). */
const HEADER = "x-canary-override";
const COOKIE = "canary_override";
const MAX_TTL_SEC = 30 * 86_400;

export const overrideTokenCommand: Command = {
  name: "override-token",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, help } = parse(
      () =>
        parseArgs({
          args,
          options: { ...helpOption, variant: { type: "string" }, route: { type: "string", short: "r" }, ttl: { type: "string" }, url: { type: "string" }, json: { type: "boolean" } },
          allowPositionals: true,
        }),
      { min: 0, max: 0 },
    );
    if (help) {
      io.out(
        helpText(
          usage,
          summary,
          `Options:\n  --variant <v>  canary or stable (required)\n  --route <id>   route id, or * for every route (default *)\n  --ttl <d>      lifetime: 15m, 1h, 2d (default 1h, at most 30d)\n  --url <url>    URL used in the printed curl lines (default https://<your-host>/)\n  --json         {token, variant, route, expiresAt}\n\nEnvironment: OVERRIDE_SECRET, the same secret the Worker has (wrangler secret put OVERRIDE_SECRET).\nThe header and cookie names shown are the defaults; a route's "override" block may rename them.`,
        ),
      );
      return EXIT_OK;
    }
    const variant = values.variant;
    if (variant !== "canary" && variant !== "stable") throw new UsageError("--variant must be canary or stable");
    const route = values.route ?? "*";
    if (route !== "*" && !RouteSchema.shape.id.safeParse(route).success) throw new UsageError(`--route "${route}" is not a valid route id or *`);
    const ttlSec = parseDuration(values.ttl ?? "1h", "--ttl");
    if (ttlSec > MAX_TTL_SEC) throw new UsageError("--ttl must be at most 30d");
    const secret = io.env.OVERRIDE_SECRET;
    if (!secret) throw new CliError("OVERRIDE_SECRET is not set: export the Worker's OVERRIDE_SECRET value to sign a token");

    const expiresAtSec = Math.floor(Date.now() / 1000) + ttlSec;
    const token = await signOverride(secret, variant, route, expiresAtSec);
    if (values.json) {
      printJson(io, { token, variant, route, expiresAt: expiresAtSec, header: HEADER, cookie: COOKIE });
      return EXIT_OK;
    }
    const url = values.url ?? "https://<your-host>/";
    io.out(
      `${token}\n\n` +
        `pins ${variant} for ${route === "*" ? "every route" : `route ${route}`} until ${isoShort(expiresAtSec * 1000)}\n` +
        `header: curl -H '${HEADER}: ${token}' ${url}\n` +
        `cookie: curl --cookie '${COOKIE}=${token}' ${url}\n`,
    );
    return EXIT_OK;
  },
};
