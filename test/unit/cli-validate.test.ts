// `validate` and the JSON locator behind it: every error names the field and its
// line:column in the file; the dispatcher's exit codes and --help for every command.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../scripts/cli/main.js";
import { checkConfigText } from "../../scripts/cli/config-file.js";
import { JsonLocator, JsonSyntaxError } from "../../scripts/cli/json-locator.js";
import { resolveBlockedOrigins, type HostLookup } from "../../scripts/cli/resolve-origins.js";
import { validateConfig } from "../../src/core/config/parse.js";
import { fixture, runCli } from "./cli-harness.js";

const INVALID = "test/fixtures/cli/invalid-config.json";
const DUPLICATES = "test/fixtures/cli/duplicate-keys.json";

const ROUTE = '{"id": "a", "stable": {"origin": "https://s.example"}, "canary": {"origin": "https://c.example"}, "release": "r1"}';

/** A DNS stand-in: names map to addresses; anything else fails as an unknown name. */
const fakeLookup =
  (answers: Record<string, string[]>): HostLookup =>
  async (name) => {
    const found = answers[name];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: "ENOTFOUND" });
    return found;
  };

describe("JsonLocator.locate", () => {
  const text = '{\n  "a": { "b": [10, {"c": true}] },\n  "d\\u0065": "x"\n}';
  const loc = new JsonLocator(text);
  it.each([
    [["a"], 2, 3, true],
    [["a", "b"], 2, 10, true],
    [["a", "b", 1], 2, 20, true],
    [["a", "b", 1, "c"], 2, 21, true],
    [["de"], 3, 3, true],
    [["a", "missing"], 2, 3, false],
    [["a", "b", 7], 2, 10, false],
    [[], 1, 1, true],
  ] as const)("%j is at %i:%i", (path, line, column, exact) => {
    expect(loc.locate(path)).toEqual({ line, column, exact });
  });

  it("reports a syntax error with its offset", () => {
    expect(() => new JsonLocator('{"a": [1, 2,, 3]}')).toThrow(JsonSyntaxError);
    try {
      new JsonLocator('{"a": [1, 2,, 3]}');
    } catch (e) {
      expect((e as JsonSyntaxError).offset).toBe(12);
    }
  });
});

describe("checkConfigText", () => {
  it("splits unknown keys into one located problem each", () => {
    const text = '{\n  "version": 1,\n  "foo": 1,\n  "bar": 2,\n  "routes": [{"id": "a", "stable": {"origin": "https://s.example"}, "canary": {"origin": "https://c.example"}, "release": "r1"}]\n}';
    const check = checkConfigText("x.json", text);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toEqual([
      { path: "foo", line: 3, column: 3, message: "foo is not a known field" },
      { path: "bar", line: 4, column: 3, message: "bar is not a known field" },
    ]);
  });
});

describe("checkConfigText on hostile documents", () => {
  it("reports each duplicate key as an error at the repeated key, with where the first one is", () => {
    const text = `{\n  "version": 1,\n  "routes": [${ROUTE.replace(/}$/, ', "weight": 5, "weight": 50}')}],\n  "version": 1\n}`;
    const check = checkConfigText("d.json", text);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toEqual([
      { path: "routes[0].weight", line: 3, column: 142, message: "routes[0].weight appears more than once in its object; the last one is used (first at 3:129)" },
      { path: "version", line: 4, column: 3, message: "version appears more than once in its object; the last one is used (first at 2:3)" },
    ]);
  });

  it("walks 100,000 levels of arrays inside an unknown key (the locator is iterative)", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const check = checkConfigText("deep.json", `{\n  "version": 1,\n  "routes": [${ROUTE}],\n  "deep": ${deep}\n}`);
    expect(check).toEqual({ ok: false, file: "deep.json", problems: [{ path: "deep", line: 4, column: 3, message: "deep is not a known field" }] });
  });

  it("bounds the path and message of a 2 MB unknown key", () => {
    const key = "k".repeat(2 * 1024 * 1024);
    const check = checkConfigText("big.json", `{"version": 1, "routes": [${ROUTE}], "${key}": 1}`);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toHaveLength(1);
    const p = check.problems[0]!;
    expect(p.message).toBe(`${"k".repeat(200)}... [${key.length - 200} more characters cut] is not a known field`);
    expect(p.path.length).toBeLessThan(400);
    expect([p.line, p.column]).toEqual([1, 144]);
  });
});

describe("resolveBlockedOrigins", () => {
  const config = (() => {
    const parsed = validateConfig({
      version: 1,
      notify: { webhook: "https://hooks.example/x" },
      routes: [
        { id: "a", stable: { origin: "https://stable.example" }, canary: { origin: "https://imds.example/v2" }, release: "r1" },
        { id: "b", stable: { origin: "https://stable.example" }, canary: { origin: "http://[::1]:8080" }, release: "r1" },
      ],
    });
    if (!parsed.ok) throw new Error(parsed.error.join("\n"));
    return parsed.value;
  })();

  it("names every origin and webhook whose hostname resolves to a link-local or metadata address", async () => {
    const seen: string[] = [];
    const lookup: HostLookup = async (name) => {
      seen.push(name);
      return fakeLookup({ "stable.example": ["192.0.2.1"], "imds.example": ["192.0.2.9", "169.254.169.254"], "hooks.example": ["fe80::2"] })(name);
    };
    expect(await resolveBlockedOrigins(config, lookup)).toEqual([
      { path: ["routes", 0, "canary", "origin"], message: "must not point at a link-local address (169.254.169.254, 169.254.0.0/16): imds.example resolves to it" },
      { path: ["notify", "webhook"], message: "must not point at a link-local address (fe80::2, fe80::/10): hooks.example resolves to it" },
    ]);
    // Each name once; IP literals are not looked up.
    expect(seen.sort()).toEqual(["hooks.example", "imds.example", "stable.example"]);
  });

  it("passes names that do not resolve, or not in time", async () => {
    const never: HostLookup = () => new Promise(() => {});
    expect(await resolveBlockedOrigins(config, fakeLookup({}))).toEqual([]);
    expect(await resolveBlockedOrigins(config, never, 10)).toEqual([]);
  });
});

describe("validate", () => {
  it("reports duplicate keys with line:column and exits 1", async () => {
    const r = await runCli(["validate", DUPLICATES]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toEqual([
      `${DUPLICATES}:10:7: routes[0].weight appears more than once in its object; the last one is used (first at 9:7)`,
      `${DUPLICATES}:13:3: version appears more than once in its object; the last one is used (first at 2:3)`,
      `${DUPLICATES}: 2 errors`,
    ]);
  });

  it("locates the unknown key of a file nesting 100,000 arrays deep instead of calling it invalid JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "canary-validate-"));
    const file = join(dir, "deep.json");
    writeFileSync(file, `{\n  "version": 1,\n  "routes": [${ROUTE}],\n  "x": ${"[".repeat(100_000)}${"]".repeat(100_000)}\n}\n`);
    const r = await runCli(["validate", file]);
    expect(r.err).toBe(`${file}:4:3: x is not a known field\n${file}: 1 error\n`);
    expect(r.code).toBe(1);
  });

  it("with a lookup, rejects an origin whose name resolves to the metadata address, at its line:column", async () => {
    const lookup = fakeLookup({ "stable.example": ["192.0.2.1"], "canary.example": ["169.254.169.254"] });
    const r = await runCli(["validate", "test/fixtures/cli/metadata-origin.json"], { io: { lookup } });
    expect(r.err.trim().split("\n")).toEqual([
      "test/fixtures/cli/metadata-origin.json:5:33: routes[0].canary.origin must not point at a link-local address (169.254.169.254, 169.254.0.0/16): canary.example resolves to it",
      "test/fixtures/cli/metadata-origin.json: 1 error",
    ]);
    expect(r.code).toBe(1);
  });


  it("names the field and line:column of every error in the fixture and exits 1", async () => {
    const r = await runCli(["validate", INVALID]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines).toEqual([
      `${INVALID}:7:19: routes[0].canary.origin must be an absolute http(s) URL without query or fragment`,
      `${INVALID}:9:7: routes[0].weight must be between 0 and 100`,
      `${INVALID}:11:5: routes[1].release is required`,
      `${INVALID}:15:18: routes[1].steps.weights must be strictly increasing`,
      `${INVALID}:16:7: routes[1].wieght is not a known field`,
      `${INVALID}: 5 errors`,
    ]);
  });

  it("--json gives path, line, column and message", async () => {
    const r = await runCli(["validate", fixture("cli/invalid-config.json"), "--json"]);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.out) as { ok: boolean; errors: Array<{ path: string; line: number; column: number; message: string }> };
    expect(body.ok).toBe(false);
    expect(body.errors[1]).toEqual({ path: "routes[0].weight", line: 9, column: 7, message: "routes[0].weight must be between 0 and 100" });
  });

  it("locates a JSON syntax error", async () => {
    const check = checkConfigText("bad.json", '{\n  "version": 1,\n  "routes": [\n  }\n}');
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toMatchObject({ line: 4, column: 3, path: "config" });
    expect(check.problems[0]!.message).toMatch(/^config is not valid JSON: /);
  });

  it("accepts the example config and lists its routes", async () => {
    const r = await runCli(["validate", "examples/config.json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("examples/config.json: valid, 2 routes");
    expect(r.out).toMatch(/shop\s+v2\.4\.0\s+steps\s+1% > 5% > 25% > 50% > 100%/);
    expect(r.out).toMatch(/api\s+2026-04-20\.1\s+manual\s+10%/);
  });

  it("accepts the ring examples and lists their stages; --json gives everyone's weight at each stage", async () => {
    const local = await runCli(["validate", "examples/local-rings.json"]);
    expect(local.code).toBe(0);
    expect(local.out).toMatch(/www\s+v3\s+steps\s+staff 100% > staff\+nz 100% > 5% > 100%/);
    const prod = await runCli(["validate", "--json", "examples/rings.json"]);
    expect(prod.code).toBe(0);
    const body = JSON.parse(prod.out) as { routes: Array<{ stages: string[]; weights: number[] }> };
    expect(body.routes[0]!.stages).toEqual(["staff 100%", "staff+beta 100%", "nz 100%", "colo:SIN+continent:OC 20%", "5%", "25%", "100%"]);
    // Ring stages serve their audiences only: everyone's share stays 0 until the first stage of everyone.
    expect(body.routes[0]!.weights).toEqual([0, 0, 0, 0, 5, 25, 100]);
  });

  it("exits 1 on an unreadable file and 2 on a usage error", async () => {
    const missing = await runCli(["validate", "no/such/file.json"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe("error: cannot read no/such/file.json: ENOENT\n");
    const usage = await runCli(["validate"]);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("missing argument: <file>");
    const flag = await runCli(["validate", "x.json", "--nope"]);
    expect(flag.code).toBe(2);
    expect(flag.err.split("\n")[0]).toMatch(/^error: Unknown option '--nope'$/);
  });
});

describe("main", () => {
  it("answers --help for every command with exit 0", async () => {
    for (const c of COMMANDS) {
      const r = await runCli([c.name, "--help"]);
      expect(r.code, c.name).toBe(0);
      expect(r.out, c.name).toContain(`Usage: npm run canary -- ${c.name}`);
    }
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.out).toContain(`  ${c.name} `);
  });

  it("exits 2 for an unknown or missing command", async () => {
    expect((await runCli(["frobnicate"])).code).toBe(2);
    expect((await runCli([])).code).toBe(2);
  });
});
