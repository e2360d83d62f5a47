// Table-driven tests of the KV config parser: defaults are applied in one place, and
// every rejection names the offending field (STYLE.md rule 4).
import { GuardrailsSchema } from "../../src/core/stats/guardrails.js";
import { describe, expect, it } from "vitest";
import { boundText, formatPath, MAX_MESSAGE_CHARS, parseConfig, validateConfig } from "../../src/core/config/parse.js";
import type { Config } from "../../src/core/config/schema.js";

const minimalRoute = (): Record<string, unknown> => ({
  id: "shop",
  stable: { origin: "https://stable.example" },
  canary: { origin: "https://canary.example" },
  release: "r1",
});

/** A config whose single route is the minimal one with `patch` spread over it. */
const withRoute = (patch: Record<string, unknown>): unknown => ({ version: 1, routes: [{ ...minimalRoute(), ...patch }] });

const errorsOf = (value: unknown): string[] => {
  const result = validateConfig(value);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.error;
};

describe("validateConfig", () => {
  it("fills every default of a minimal config", () => {
    const result = validateConfig({ version: 1, routes: [minimalRoute()] });
    const expected: Config = {
      version: 1,
      sync: { intervalMs: 1000, staleAfterMs: 30_000, coldWaitMs: 500 },
      notify: { maxAttempts: 6 },
      segments: {},
      routes: [
        {
          id: "shop",
          match: { hosts: [], pathPrefix: "/" },
          stable: { origin: "https://stable.example", timeoutMs: 10_000 },
          canary: { origin: "https://canary.example", timeoutMs: 10_000 },
          release: "r1",
          weight: 0,
          sticky: { source: "own-cookie", cookieName: "canary_id", maxAgeSec: 2_592_000, secure: "auto" },
          override: { header: "x-canary-override", cookie: "canary_override" },
          fallback: { enabled: true, onStatus: [502, 503, 504] },
          shadow: { compare: "status", headers: [], ignore: [], numericTolerance: 0, methods: ["GET", "HEAD"], maxBodyBytes: 1_048_576, maxInFlight: 32, maxMismatchRate: 0.01, latencyPairs: 0.25, latencyTolerance: 1.1 },
          guardrails: GuardrailsSchema.parse(undefined),
          metrics: [],
          metricSources: { originHeader: "x-canary-metrics", beacon: false, inject: false, webVitals: true, errors: true, maxEventsPerUser: 100 },
          exposeHeaders: true,
        },
      ],
    };
    expect(result).toEqual({ ok: true, value: expected });
  });

  it("keeps given values, lower-cases hosts and fills defaults inside partial objects", () => {
    const result = validateConfig({
      $schema: "./config.schema.json",
      version: 1,
      routes: [
        {
          ...minimalRoute(),
          match: { hosts: ["Shop.Example.COM"] },
          canary: { origin: "http://canary.internal:8080/base", timeoutMs: 2_500 },
          weight: 12.34,
          steps: { weights: [1, 5, 25, 50, 100] },
          sticky: { source: "header", name: "x-user-id" },
          countries: { deny: ["CN"] },
          fallback: { enabled: false },
          exposeHeaders: false,
        },
      ],
    });
    if (!result.ok) throw new Error(result.error.join("\n"));
    const route = result.value.routes[0]!;
    expect(result.value.$schema).toBe("./config.schema.json");
    expect(route.match).toEqual({ hosts: ["shop.example.com"], pathPrefix: "/" });
    expect(route.canary).toEqual({ origin: "http://canary.internal:8080/base", timeoutMs: 2_500 });
    expect(route.weight).toBe(12.34);
    expect(route.steps).toEqual({ weights: [1, 5, 25, 50, 100], minDurationSec: 60, minRequests: 200 });
    expect(route.sticky).toEqual({ source: "header", name: "x-user-id", cookieName: "canary_id", maxAgeSec: 2_592_000, secure: "auto" });
    expect(route.countries).toEqual({ deny: ["CN"] });
    expect(route.fallback).toEqual({ enabled: false, onStatus: [502, 503, 504] });
    expect(route.exposeHeaders).toBe(false);
  });

  it.each([
    ["weight 0", { weight: 0 }],
    ["weight 100", { weight: 100 }],
    ["weight 0.07 (not exact in binary floating point)", { weight: 0.07 }],
    ["weight 33.33", { weight: 33.33 }],
    ["timeoutMs at both bounds", { stable: { origin: "https://s.example", timeoutMs: 100 }, canary: { origin: "https://c.example", timeoutMs: 120_000 } }],
    ["origin with a path prefix", { canary: { origin: "https://canary.example/v2/" } }],
    ["pathPrefix with trailing slash", { match: { pathPrefix: "/app/" } }],
    ["id with - and _", { id: "shop-eu_2" }],
    ["release with . _ : -", { release: "2024.06.01_rc-1:abc" }],
    ["sticky cookie source with name", { sticky: { source: "cookie", name: "session_user" } }],
    ["single step of 100", { steps: { weights: [100] } }],
  ])("accepts %s", (_name, patch) => {
    expect(validateConfig(withRoute(patch)).ok).toBe(true);
  });

  const r0 = "routes[0]";
  const invalid: Array<[name: string, doc: unknown, messages: string[]]> = [
    ["a non-object document", [], ["config must be an object"]],
    ["null", null, ["config must be an object"]],
    ["missing version", { routes: [minimalRoute()] }, ["version is required"]],
    ["version 2", { version: 2, routes: [minimalRoute()] }, ["version must be 1"]],
    ["version as a string", { version: "1", routes: [minimalRoute()] }, ["version must be 1"]],
    ["missing routes", { version: 1 }, ["routes is required"]],
    ["routes not an array", { version: 1, routes: {} }, ["routes must be an array"]],
    ["routes empty", { version: 1, routes: [] }, ["routes must have at least 1 item"]],
    ["sync.intervalMs below range", { version: 1, sync: { intervalMs: 50 }, routes: [minimalRoute()] }, ["sync.intervalMs must be >= 100"]],
    ["unknown top-level field", { version: 1, routes: [minimalRoute()], rotues: [] }, ["rotues is not a known field"]],
    ["unknown route field", withRoute({ foo: 1 }), [`${r0}.foo is not a known field`]],
    ["unknown nested field", withRoute({ canary: { origin: "https://c.example", timeout: 5 } }), [`${r0}.canary.timeout is not a known field`]],
    ["missing release", withRoute({ release: undefined }), [`${r0}.release is required`]],
    ["missing canary", withRoute({ canary: undefined }), [`${r0}.canary is required`]],
    ["ftp origin", withRoute({ canary: { origin: "ftp://canary.example" } }), [`${r0}.canary.origin must be an absolute http(s) URL without query or fragment`]],
    ["relative origin", withRoute({ stable: { origin: "/stable" } }), [`${r0}.stable.origin must be an absolute http(s) URL without query or fragment`]],
    ["origin with query", withRoute({ canary: { origin: "https://canary.example/?v=2" } }), [`${r0}.canary.origin must be an absolute http(s) URL without query or fragment (found "?")`]],
    ["origin with fragment", withRoute({ canary: { origin: "https://canary.example/#x" } }), [`${r0}.canary.origin must be an absolute http(s) URL without query or fragment (found "#")`]],
    ["timeoutMs below range", withRoute({ canary: { origin: "https://c.example", timeoutMs: 99 } }), [`${r0}.canary.timeoutMs must be >= 100`]],
    ["timeoutMs above range", withRoute({ canary: { origin: "https://c.example", timeoutMs: 120_001 } }), [`${r0}.canary.timeoutMs must be <= 120000`]],
    ["timeoutMs fractional", withRoute({ canary: { origin: "https://c.example", timeoutMs: 150.5 } }), [`${r0}.canary.timeoutMs must be an integer`]],
    ["weight -1", withRoute({ weight: -1 }), [`${r0}.weight must be between 0 and 100`]],
    ["weight 100.5", withRoute({ weight: 100.5 }), [`${r0}.weight must be between 0 and 100`]],
    ["weight 5.001", withRoute({ weight: 5.001 }), [`${r0}.weight must be a multiple of 0.01`]],
    ["weight as a string", withRoute({ weight: "5" }), [`${r0}.weight must be a number`]],
    ["steps not increasing", withRoute({ steps: { weights: [1, 5, 5, 50] } }), [`${r0}.steps.weights must be strictly increasing`]],
    ["steps with 0", withRoute({ steps: { weights: [0, 5] } }), [`${r0}.steps.weights[0] must be above 0`]],
    ["steps above 100", withRoute({ steps: { weights: [5, 150] } }), [`${r0}.steps.weights[1] must be between 0 and 100`]],
    ["steps empty", withRoute({ steps: { weights: [] } }), [`${r0}.steps.weights must have at least 1 item`]],
    ["steps with both weights and stages", withRoute({ steps: { weights: [1], stages: [{ percent: 1 }] } }), [`${r0}.steps needs exactly one of weights or stages`]],
    ["steps with neither weights nor stages", withRoute({ steps: { minDurationSec: 30 } }), [`${r0}.steps needs exactly one of weights or stages`]],
    ["shadow stage after a live stage", withRoute({ steps: { stages: [{ percent: 5 }, { shadow: { percent: 10 } }] } }), [`${r0}.steps.stages[1] shadow stages must come before every live stage`]],
    ["a stage that is both live and shadow", withRoute({ steps: { stages: [{ percent: 5, shadow: { percent: 1 } }] } }), [`${r0}.steps.stages[0] must be one stage: live { "percent": 5 } or shadow { "shadow": { "percent": 10 } } (one key, nothing else)`]],
    ["live stages not increasing", withRoute({ steps: { stages: [{ shadow: { percent: 10 } }, { percent: 5 }, { percent: 5 }] } }), [`${r0}.steps.stages[2].percent stages of everyone must be strictly increasing`]],
    ["shadow compare unknown", withRoute({ shadow: { compare: "xml" } }), [`${r0}.shadow.compare must be "status" or "headers" or "body" or "json"`]],
    ["shadow ignore path with an empty key", withRoute({ shadow: { ignore: ["meta..at"] } }), [`${r0}.shadow.ignore[0] must be dot-separated keys, * for any key or index (e.g. items.*.updatedAt)`]],
    ["shadow method lower-case", withRoute({ shadow: { methods: ["post"] } }), [`${r0}.shadow.methods[0] must be an upper-case HTTP method`]],
    ["steps minRequests negative", withRoute({ steps: { weights: [1], minRequests: -1 } }), [`${r0}.steps.minRequests must be >= 0`]],
    ["sticky header without name", withRoute({ sticky: { source: "header" } }), [`${r0}.sticky.name is required when source is cookie or header`]],
    ["sticky unknown source", withRoute({ sticky: { source: "query" } }), [`${r0}.sticky.source must be "own-cookie" or "cookie" or "header"`]],
    ["bad cookie name", withRoute({ sticky: { cookieName: "canary id" } }), [`${r0}.sticky.cookieName must be a cookie name`]],
    ["bad override header name", withRoute({ override: { header: "x canary" } }), [`${r0}.override.header must match /^[A-Za-z0-9!#$%&'*+.^_\`|~-]{1,64}$/`]],
    ["sticky maxAgeSec too short", withRoute({ sticky: { maxAgeSec: 59 } }), [`${r0}.sticky.maxAgeSec must be >= 60`]],
    ["country code lower-case", withRoute({ countries: { allow: ["DE", "fr"] } }), [`${r0}.countries.allow[1] must be an ISO 3166-1 alpha-2 code like DE`]],
    ["fallback.onStatus 200", withRoute({ fallback: { onStatus: [502, 200] } }), [`${r0}.fallback.onStatus[1] must be >= 400`]],
    ["fallback.enabled as a string", withRoute({ fallback: { enabled: "yes" } }), [`${r0}.fallback.enabled must be a boolean`]],
    ["pathPrefix without leading slash", withRoute({ match: { pathPrefix: "app" } }), [`${r0}.match.pathPrefix must start with /`]],
    ["empty host", withRoute({ match: { hosts: [""] } }), [`${r0}.match.hosts[0] must not be empty`]],
    ["release with spaces", withRoute({ release: "v 1" }), [`${r0}.release must be 1-64 chars of A-Z, a-z, 0-9, ., _, : and -`]],
    ["release too long", withRoute({ release: "r".repeat(65) }), [`${r0}.release must be 1-64 chars of A-Z, a-z, 0-9, ., _, : and -`]],
    ["id upper-case", withRoute({ id: "Shop" }), [`${r0}.id must be 1-63 chars of a-z, 0-9, - and _`]],
    ["id empty", withRoute({ id: "" }), [`${r0}.id must be 1-63 chars of a-z, 0-9, - and _`]],
    [
      "duplicate route ids",
      { version: 1, routes: [minimalRoute(), { ...minimalRoute(), match: { pathPrefix: "/x" } }, minimalRoute()] },
      ['routes[1].id duplicates routes[0].id "shop"', 'routes[2].id duplicates routes[0].id "shop"'],
    ],
  ];

  it.each(invalid)("rejects %s", (_name, doc, messages) => {
    expect(errorsOf(doc)).toEqual(messages);
  });

  const normalisedCases: Array<[name: string, patch: Record<string, unknown>, pick: (r: Config["routes"][number]) => unknown, expected: unknown]> = [
    ["origin with surrounding whitespace", { canary: { origin: " https://canary.example/v2 \n" } }, (r) => r.canary.origin, "https://canary.example/v2"],
    ["origin with a tab inside (the URL parser drops it)", { canary: { origin: "https://canary.exa\tmple" } }, (r) => r.canary.origin, "https://canary.example"],
    ["origin with upper case and default port", { stable: { origin: "HTTPS://Stable.Example:443/Base/" } }, (r) => r.stable.origin, "https://stable.example/Base/"],
    ["origin with a Unicode host", { canary: { origin: "https://bücher.example" } }, (r) => r.canary.origin, "https://xn--bcher-kva.example"],
    ["origin with a non-default port", { canary: { origin: "http://canary.internal:8080/base" } }, (r) => r.canary.origin, "http://canary.internal:8080/base"],
    ["origin with dot segments in its path", { canary: { origin: "https://canary.example/a/../b" } }, (r) => r.canary.origin, "https://canary.example/b"],
    ["origin with an empty userinfo", { canary: { origin: "https://@canary.example" } }, (r) => r.canary.origin, "https://canary.example"],
    ["Unicode host", { match: { hosts: ["Bücher.Example"] } }, (r) => r.match.hosts, ["xn--bcher-kva.example"]],
    ["host with surrounding whitespace", { match: { hosts: [" Shop.Example.com "] } }, (r) => r.match.hosts, ["shop.example.com"]],
    ["wildcard host", { match: { hosts: ["*.Example.COM", "*.bücher.example"] } }, (r) => r.match.hosts, ["*.example.com", "*.xn--bcher-kva.example"]],
    ["IPv6 host", { match: { hosts: ["[::1]"] } }, (r) => r.match.hosts, ["[::1]"]],
    ["pathPrefix with Unicode", { match: { pathPrefix: "/café" } }, (r) => r.match.pathPrefix, "/caf%C3%A9"],
    ["pathPrefix with a space", { match: { pathPrefix: "/my app/" } }, (r) => r.match.pathPrefix, "/my%20app/"],
    ["pathPrefix already encoded", { match: { pathPrefix: "/caf%C3%A9" } }, (r) => r.match.pathPrefix, "/caf%C3%A9"],
  ];

  it.each(normalisedCases)("normalises %s (the parsed config carries the stored form)", (_name, patch, pick, expected) => {
    const result = validateConfig(withRoute(patch));
    if (!result.ok) throw new Error(result.error.join("\n"));
    expect(pick(result.value.routes[0]!)).toEqual(expected);
  });

  it("normalises the notification webhook like an origin", () => {
    const result = validateConfig({ version: 1, notify: { webhook: " https://Hooks.Example/services/x \n" }, routes: [minimalRoute()] });
    expect(result.ok && result.value.notify.webhook).toBe("https://hooks.example/services/x");
  });

  const shape = "must be an absolute http(s) URL without query or fragment";
  const linkLocal = (shown: string, range: string): string => `must not point at a link-local address (${shown}, ${range})`;
  const credentials = "must not contain credentials (user:password@): fetch refuses them and they would show in status";
  const port = "must not include a port: requests are matched on the host without its port";
  const notHostname = "must be a hostname like shop.example.com, without scheme, path or credentials";
  const star = "may use * only as the whole first label, as in *.example.com";
  const dots = 'must not contain "." or ".." segments: request paths arrive with them resolved';
  const rejected: Array<[name: string, doc: unknown, message: string]> = [
    ["origin ending in an empty query", withRoute({ canary: { origin: "https://canary.example/?" } }), `${r0}.canary.origin ${shape} (found "?")`],
    ["origin ending in an empty fragment", withRoute({ canary: { origin: "https://canary.example/#" } }), `${r0}.canary.origin ${shape} (found "#")`],
    ["origin ending in ? without a path", withRoute({ stable: { origin: "https://stable.example?" } }), `${r0}.stable.origin ${shape} (found "?")`],
    ["origin with user:pass@", withRoute({ canary: { origin: "https://deploy:hunter2@canary.example" } }), `${r0}.canary.origin ${credentials}`],
    ["origin with a user only", withRoute({ stable: { origin: "https://deploy@stable.example" } }), `${r0}.stable.origin ${credentials}`],
    ["origin at the metadata IP", withRoute({ canary: { origin: "http://169.254.169.254/latest" } }), `${r0}.canary.origin ${linkLocal("169.254.169.254", "169.254.0.0/16")}`],
    ["origin at 169.254/16 written in hex", withRoute({ canary: { origin: "http://0xa9fe0001/" } }), `${r0}.canary.origin ${linkLocal("169.254.0.1", "169.254.0.0/16")}`],
    ["origin at fe80::1", withRoute({ canary: { origin: "http://[fe80::1]:8080" } }), `${r0}.canary.origin ${linkLocal("fe80::1", "fe80::/10")}`],
    ["origin at the top of fe80::/10", withRoute({ canary: { origin: "http://[febf:ffff::1]" } }), `${r0}.canary.origin ${linkLocal("febf:ffff::1", "fe80::/10")}`],
    ["origin at IPv4-mapped 169.254.169.254", withRoute({ canary: { origin: "http://[::ffff:169.254.169.254]" } }), `${r0}.canary.origin ${linkLocal("::ffff:a9fe:a9fe", "169.254.0.0/16")}`],
    ["origin at metadata.google.internal", withRoute({ canary: { origin: "http://Metadata.Google.Internal/computeMetadata/v1" } }), `${r0}.canary.origin must not point at a cloud metadata service (metadata.google.internal)`],
    ["origin at AWS's IPv6 metadata address", withRoute({ canary: { origin: "http://[fd00:ec2::254]" } }), `${r0}.canary.origin must not point at a cloud metadata address (fd00:ec2::254)`],
    ["origin at Alibaba's metadata address", withRoute({ stable: { origin: "http://100.100.100.200" } }), `${r0}.stable.origin must not point at a cloud metadata address (100.100.100.200)`],
    ["webhook at the metadata IP", { version: 1, notify: { webhook: "http://169.254.169.254/hook" }, routes: [minimalRoute()] }, `notify.webhook ${linkLocal("169.254.169.254", "169.254.0.0/16")}`],
    ["webhook with credentials", { version: 1, notify: { webhook: "https://u:p@hooks.example/x" }, routes: [minimalRoute()] }, `notify.webhook ${credentials}`],
    ["webhook ending in an empty query", { version: 1, notify: { webhook: "https://hooks.example/x?" }, routes: [minimalRoute()] }, `notify.webhook ${shape} (found "?")`],
    ["host with a port", withRoute({ match: { hosts: ["shop.example.com:8443"] } }), `${r0}.match.hosts[0] ${port}`],
    ["IPv6 host with a port", withRoute({ match: { hosts: ["a.example", "[::1]:8787"] } }), `${r0}.match.hosts[1] ${port}`],
    ["host written as a URL", withRoute({ match: { hosts: ["https://shop.example.com"] } }), `${r0}.match.hosts[0] ${notHostname}`],
    ["host with a path", withRoute({ match: { hosts: ["shop.example.com/app"] } }), `${r0}.match.hosts[0] ${notHostname}`],
    ["host with a space inside", withRoute({ match: { hosts: ["shop example.com"] } }), `${r0}.match.hosts[0] ${notHostname}`],
    ["wildcard inside a label", withRoute({ match: { hosts: ["*shop.example.com"] } }), `${r0}.match.hosts[0] ${star}`],
    ["wildcard in a later label", withRoute({ match: { hosts: ["shop.*.example.com"] } }), `${r0}.match.hosts[0] ${star}`],
    ["bare *", withRoute({ match: { hosts: ["*"] } }), `${r0}.match.hosts[0] ${star}`],
    ["wildcard before an IP", withRoute({ match: { hosts: ["*.[::1]"] } }), `${r0}.match.hosts[0] may use * only before a hostname, not an IP address`],
    ["host the URL parser refuses", withRoute({ match: { hosts: ["a%zz.example"] } }), `${r0}.match.hosts[0] must be a valid hostname`],
    ["pathPrefix with ..", withRoute({ match: { pathPrefix: "/app/../admin" } }), `${r0}.match.pathPrefix ${dots}`],
    ["pathPrefix ending in ..", withRoute({ match: { pathPrefix: "/app/.." } }), `${r0}.match.pathPrefix ${dots}`],
    ["pathPrefix with .", withRoute({ match: { pathPrefix: "/./app" } }), `${r0}.match.pathPrefix ${dots}`],
    ["pathPrefix with an encoded ..", withRoute({ match: { pathPrefix: "/app/%2E%2e/x" } }), `${r0}.match.pathPrefix ${dots}`],
    ["pathPrefix starting with //", withRoute({ match: { pathPrefix: "//app" } }), `${r0}.match.pathPrefix must not contain an empty segment ("//")`],
    ["pathPrefix ending in //", withRoute({ match: { pathPrefix: "/app//" } }), `${r0}.match.pathPrefix must not contain an empty segment ("//")`],
    ["pathPrefix with a query", withRoute({ match: { pathPrefix: "/app?x=1" } }), `${r0}.match.pathPrefix must not contain ? or #: a prefix matches the path only`],
  ];

  it.each(rejected)("rejects %s, naming the field", (_name, doc, message) => {
    expect(errorsOf(doc)).toEqual([message]);
  });

  it("never echoes an origin's credentials", () => {
    expect(errorsOf(withRoute({ canary: { origin: "https://deploy:hunter2@canary.example" } })).join("\n")).not.toContain("hunter2");
  });

  it.each([
    ["169.255.0.1 (outside 169.254/16)", "http://169.255.0.1"],
    ["169.253.255.255", "http://169.253.255.255"],
    ["fec0::1 (outside fe80::/10)", "http://[fec0::1]"],
    ["100.100.100.100", "http://100.100.100.100"],
    ["a name containing metadata", "https://metadata.example.com"],
  ])("accepts an origin at %s", (_name, origin) => {
    expect(validateConfig(withRoute({ canary: { origin } })).ok).toBe(true);
  });

  it("reports several errors at once, each naming its field", () => {
    const errors = errorsOf({
      version: 1,
      extra: true,
      routes: [
        { ...minimalRoute(), id: "Shop", weight: 101, canary: { origin: "nope" } },
        { ...minimalRoute(), id: "cart", sticky: { source: "header", maxAgeSec: 1 } },
      ],
    });
    expect(errors).toHaveLength(6);
    expect(errors).toEqual(
      expect.arrayContaining([
        "extra is not a known field",
        "routes[0].id must be 1-63 chars of a-z, 0-9, - and _",
        "routes[0].canary.origin must be an absolute http(s) URL without query or fragment",
        "routes[0].weight must be between 0 and 100",
        "routes[1].sticky.maxAgeSec must be >= 60",
        "routes[1].sticky.name is required when source is cookie or header",
      ]),
    );
  });

  it("reports every unknown field of one object", () => {
    expect(errorsOf({ version: 1, routes: [minimalRoute()], foo: 1, bar: 2 })).toEqual([
      "foo is not a known field; bar is not a known field",
    ]);
  });
});

describe("parseConfig", () => {
  it("decodes and validates JSON text", () => {
    const result = parseConfig(JSON.stringify({ version: 1, routes: [minimalRoute()] }));
    expect(result.ok).toBe(true);
  });

  it("rejects truncated JSON with one message", () => {
    expect(parseConfig("[")).toEqual({ ok: false, error: ["config is not valid JSON: Unexpected end of JSON input"], warnings: [] });
    expect(parseConfig("")).toEqual({ ok: false, error: ["config is not valid JSON: Unexpected end of JSON input"], warnings: [] });
  });

  it("rejects malformed JSON, passing on the parser's reason", () => {
    const result = parseConfig("{ version: 1 }");
    if (result.ok) throw new Error("expected a rejection");
    expect(result.error).toHaveLength(1);
    // The reason text is V8's and changes between Node versions; the prefix is ours.
    expect(result.error[0]).toMatch(/^config is not valid JSON: \S/);
  });

  it("reports schema errors of well-formed JSON", () => {
    expect(parseConfig('{"version": 1, "routes": []}')).toEqual({ ok: false, error: ["routes must have at least 1 item"], warnings: [] });
  });

  it("accepts a document with duplicate keys as JSON.parse reads it, with one warning per repeat", () => {
    const route = JSON.stringify(minimalRoute()).replace(/}$/, ', "weight": 5, "weight": 50}');
    const result = parseConfig(`{"version": 1, "version": 1, "routes": [${route}]}`);
    expect(result.ok && result.value.routes[0]!.weight).toBe(50);
    expect(result.warnings).toEqual([
      "version appears more than once in its object; the last one is used",
      "routes[0].weight appears more than once in its object; the last one is used",
    ]);
  });

  it("bounds the message of a 2 MB unknown key and says how much was cut", () => {
    const key = "k".repeat(2 * 1024 * 1024);
    const result = parseConfig(JSON.stringify({ version: 1, routes: [minimalRoute()], [key]: 1 }));
    if (result.ok) throw new Error("expected a rejection");
    expect(result.error).toHaveLength(1);
    const message = result.error[0]!;
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(message).toBe(`${"k".repeat(200)}... [${key.length - 200} more characters cut] is not a known field`);
  });

  it("bounds every message at MAX_MESSAGE_CHARS plus the note of what was cut", () => {
    const keys = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`unknown_${i}`, i]));
    const result = parseConfig(JSON.stringify({ version: 1, routes: [minimalRoute()], ...keys }));
    if (result.ok) throw new Error("expected a rejection");
    expect(result.error[0]).toMatch(/^unknown_0 is not a known field; .*\.\.\. \[\d+ more characters cut\]$/);
    expect(result.error[0]!.length).toBeLessThan(MAX_MESSAGE_CHARS + 40);
  });

  it("parses a valid document with 100,000 levels of arrays inside an unknown key without overflowing", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const result = parseConfig(`{"version": 1, "routes": [${JSON.stringify(minimalRoute())}], "deep": ${deep}}`);
    expect(result).toEqual({ ok: false, error: ["deep is not a known field"], warnings: [] });
  });
});

describe("boundText", () => {
  it.each([
    ["short", 10, "short"],
    ["exactly10!", 10, "exactly10!"],
    ["eleven chars", 10, "eleven cha... [2 more characters cut]"],
    // Never half a surrogate pair: the emoji goes whole.
    [`${"a".repeat(9)}\u{1F600}b`, 10, `${"a".repeat(9)}... [3 more characters cut]`],
  ])("%j at %i -> %j", (text, max, expected) => {
    expect(boundText(text, max)).toBe(expected);
  });
});

describe("formatPath", () => {
  it.each([
    [[], "config"],
    [["version"], "version"],
    [["routes", 0], "routes[0]"],
    [["routes", 3, "steps", "weights", 2], "routes[3].steps.weights[2]"],
  ])("formats %j as %s", (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
