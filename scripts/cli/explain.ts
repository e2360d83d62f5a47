// `explain [--header 'name: value']... [--cookie 'name=value']... [--country NZ] [--colo AKL]
// [--continent OC] [--asn 13335] [--cf field=value]... [--identity ID] [--method GET]
// <url-or-path>`: what the Worker would do with such a request (POST <base>/api/explain):
// its route, the current stage, each segment matched or not, the ring its evidence
// counts in, its bucket, the variant and why. `--json` prints the API's ExplainResponse.
import { parseArgs } from "node:util";
import type { ExplainRequest, ExplainResponse } from "../../src/core/admin-protocol.js";
import { CF_FIELDS } from "../../src/core/config/schema.js";
import { ADMIN_HELP, EXIT_OK, UsageError, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";

const usage = "explain [--header 'name: value']... [--cookie 'name=value']... [--country CC] [--colo XXX] [--continent XX] [--asn N] [--cf field=value]... [--identity ID] [--method M] [--json] <url-or-path>";
const summary = "Show what the Worker would do with a request: route, stage, segments matched, ring, bucket, variant and why.";

const OPTIONS = `Options:
  --header 'name: value'  a request header (repeatable), e.g. --header 'x-staff: 1'
  --cookie 'name=value'   a cookie (repeatable; sent as one Cookie header)
  --country <CC>          request.cf.country, e.g. NZ
  --colo <XXX>            request.cf.colo (the data center), e.g. AKL
  --continent <XX>        request.cf.continent, e.g. OC
  --asn <N>               request.cf.asn, e.g. 13335
  --cf <field=value>      any other request.cf field (repeatable): ${CF_FIELDS.join(", ")}
  --identity <id>         the cohort identity (default: read from the cookies or headers
                          as the route's sticky settings say, else a new visitor's)
  --method <M>            the request method (default GET)
  --json                  print the API's JSON (ExplainResponse) unchanged

<url-or-path> is an absolute URL (its host picks the route) or a path (routes that list
hosts then do not match).`;

/** The request body from the flags; UsageError on a malformed flag. */
export function explainBody(values: {
  header?: string[] | undefined;
  cookie?: string[] | undefined;
  country?: string | undefined;
  colo?: string | undefined;
  continent?: string | undefined;
  asn?: string | undefined;
  cf?: string[] | undefined;
  identity?: string | undefined;
  method?: string | undefined;
}, url: string): ExplainRequest {
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const at = h.indexOf(":");
    if (at <= 0) throw new UsageError(`--header must look like 'name: value' (got "${h}")`);
    const name = h.slice(0, at).trim().toLowerCase();
    headers[name] = headers[name] === undefined ? h.slice(at + 1).trim() : `${headers[name]}, ${h.slice(at + 1).trim()}`;
  }
  const cookies = (values.cookie ?? []).map((c) => {
    if (!/^[^=;\s]+=[^;]*$/.test(c)) throw new UsageError(`--cookie must look like 'name=value' (got "${c}")`);
    return c;
  });
  if (cookies.length > 0) headers.cookie = [headers.cookie, ...cookies].filter((x) => x !== undefined).join("; ");
  const cf: Record<string, string> = {};
  for (const pair of values.cf ?? []) {
    const at = pair.indexOf("=");
    const field = pair.slice(0, at);
    if (at <= 0 || !(CF_FIELDS as readonly string[]).includes(field)) throw new UsageError(`--cf must look like field=value with field one of ${CF_FIELDS.join(", ")} (got "${pair}")`);
    cf[field] = pair.slice(at + 1);
  }
  if (values.country !== undefined) cf.country = values.country.toUpperCase();
  if (values.colo !== undefined) cf.colo = values.colo.toUpperCase();
  if (values.continent !== undefined) cf.continent = values.continent.toUpperCase();
  if (values.asn !== undefined) {
    if (!/^\d{1,10}$/.test(values.asn)) throw new UsageError(`--asn must be a number (got "${values.asn}")`);
    cf.asn = values.asn;
  }
  if (!url.startsWith("/") && !/^https?:\/\//i.test(url)) throw new UsageError(`<url-or-path> must be an absolute http(s) URL or a path starting with / (got "${url}")`);
  return {
    url,
    ...(values.method ? { method: values.method.toUpperCase() } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(Object.keys(cf).length > 0 ? { cf } : {}),
    ...(values.identity !== undefined ? { identity: values.identity } : {}),
  };
}

export function renderExplain(r: ExplainResponse): string {
  const names = Object.keys(r.segments);
  const width = Math.max(0, ...names.map((n) => n.length));
  const segments = names.length === 0 ? "  (the config defines none)\n" : names.map((n) => `  ${n.padEnd(width)}  ${r.segments[n] ? "yes" : "no"}\n`).join("");
  const lines = [
    `route:    ${r.route ?? "(none)"}${r.release ? `, release ${r.release}` : ""}`,
    `stage:    ${r.stage ?? "-"}`,
    `ring:     ${r.ring ?? (r.route ? "everyone else (in no ring)" : "-")}`,
    `bucket:   ${r.bucket ?? "-"}`,
    `variant:  ${r.variant ?? "-"}`,
    `reason:   ${r.reason}`,
  ];
  return `${lines.join("\n")}\nsegments:\n${segments}`;
}

export const explainCommand: Command = {
  name: "explain",
  summary,
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals, help } = parse(
      () =>
        parseArgs({
          args,
          options: {
            ...helpOption,
            ...adminOptions,
            json: { type: "boolean" },
            header: { type: "string", multiple: true },
            cookie: { type: "string", multiple: true },
            country: { type: "string" },
            colo: { type: "string" },
            continent: { type: "string" },
            asn: { type: "string" },
            cf: { type: "string", multiple: true },
            identity: { type: "string" },
            method: { type: "string" },
          },
          allowPositionals: true,
        }),
      { min: 1, max: 1, names: "<url-or-path>" },
    );
    if (help) {
      io.out(helpText(usage, summary, `${OPTIONS}\n\n${ADMIN_HELP}\n\nExit codes: 0 explained (whatever the variant), 1 API error, 2 usage error.`));
      return EXIT_OK;
    }
    const body = explainBody(values, positionals[0]!);
    const res = await adminCall<ExplainResponse>(io, adminTarget(values, io.env), "POST", "/explain", body);
    if (values.json) printJson(io, res);
    else io.out(renderExplain(res));
    return EXIT_OK;
  },
};
