// `validate` and the JSON locator behind it: every error names the field and its
// line:column in the file; the dispatcher's exit codes and --help for every command.
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../scripts/cli.js";
import { checkConfigText } from "../../scripts/cli/config-file.js";
import { JsonLocator, JsonSyntaxError } from "../../scripts/cli/json-locator.js";
import { fixture, runCli } from "./cli-harness.js";

const INVALID = "test/fixtures/cli/invalid-config.json";

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

describe("validate", () => {
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
    expect(r.out).toMatch(/shop\s+v2\.4\.0\s+steps\s+1 > 5 > 25 > 50 > 100 %/);
    expect(r.out).toMatch(/api\s+2026-04-20\.1\s+manual\s+10 %/);
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
