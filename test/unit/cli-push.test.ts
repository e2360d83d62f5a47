// `push`: an invalid file never reaches wrangler (the runner is injected and must stay
// uncalled); a valid one is written with `wrangler kv key put`, checked here against
// the real wrangler 4.86 writing to a private --persist-to directory and read back
// with `wrangler kv key get --local --persist-to`.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { CliIo } from "../../scripts/cli/common.js";
import { makePushCommand } from "../../scripts/cli/push.js";
import { runWrangler, type WranglerRunner } from "../../scripts/cli/wrangler-runner.js";
import { ROOT } from "./cli-harness.js";

function io(): CliIo & { text: () => { out: string; err: string } } {
  let out = "";
  let err = "";
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: {},
    isTTY: false,
    cwd: ROOT,
    fetch: globalThis.fetch,
    sleep: async () => {},
    text: () => ({ out, err }),
  };
}

describe("push", () => {
  it("refuses an invalid file with exit 1 and never calls wrangler", async () => {
    const runner = vi.fn<WranglerRunner>();
    const cli = io();
    const code = await makePushCommand(runner).run(["test/fixtures/cli/invalid-config.json", "--local"], cli);
    expect(code).toBe(1);
    expect(runner).not.toHaveBeenCalled();
    expect(cli.text().err).toContain("routes[0].weight must be between 0 and 100");
    expect(cli.text().err).toContain("nothing was written");
  });

  it("runs wrangler kv key put with the binding, key, file and target, and reports the routes", async () => {
    const runner = vi.fn<WranglerRunner>(async () => ({ code: 0, stdout: "", stderr: "" }));
    const cli = io();
    const code = await makePushCommand(runner).run(["examples/config.json", "--remote", "--config", "wrangler.jsonc", "--env", "production"], cli);
    expect(code).toBe(0);
    expect(runner).toHaveBeenCalledTimes(1);
    expect(runner.mock.calls[0]![0]).toEqual([
      "kv", "key", "put", "--binding", "CANARY_CONFIG", "config", "--path", join(ROOT, "examples/config.json"), "--remote", "--config", "wrangler.jsonc", "--env", "production",
    ]);
    expect(cli.text().out).toMatch(/shop\s+v2\.4\.0\s+steps\s+1% > 5% > 25% > 50% > 100%/);
    expect(cli.text().out).toContain("60 s or more");
  });

  it("--dry-run validates and prints the command without running it; --json reports routes", async () => {
    const runner = vi.fn<WranglerRunner>();
    const cli = io();
    expect(await makePushCommand(runner).run(["examples/config.json", "--dry-run", "--json"], cli)).toBe(0);
    expect(runner).not.toHaveBeenCalled();
    const body = JSON.parse(cli.text().out) as { dryRun: boolean; target: string; routes: Array<{ id: string; weights: number[] }> };
    expect(body).toMatchObject({ dryRun: true, target: "local" });
    expect(body.routes.map((r) => [r.id, r.weights])).toEqual([["shop", [1, 5, 25, 50, 100]], ["api", [10]]]);
  });

  it("turns a wrangler failure into exit 1 with wrangler's error line", async () => {
    const runner: WranglerRunner = async () => ({ code: 1, stdout: "", stderr: " ⛅️ wrangler 4.86.0\n───\n✘ [ERROR] Not logged in.\n\n" });
    const cli = io();
    await expect(makePushCommand(runner).run(["examples/config.json", "--remote"], cli)).rejects.toThrow(/wrangler kv key put failed \(exit 1\): ✘ \[ERROR\] Not logged in\./);
  });

  it("rejects --local with --remote as a usage error", async () => {
    await expect(makePushCommand(vi.fn<WranglerRunner>()).run(["examples/config.json", "--local", "--remote"], io())).rejects.toThrow(/exclude each other/);
  });

  describe("with the real wrangler", () => {
    const dir = mkdtempSync(join(tmpdir(), "canary-push-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("--local writes the file to local KV, readable with wrangler kv key get", { timeout: 30_000 }, async () => {
      const cli = io();
      const code = await makePushCommand().run(["examples/config.json", "--local", "--persist-to", dir], cli);
      expect(cli.text().err).toBe("");
      expect(code).toBe(0);
      const got = await runWrangler(["kv", "key", "get", "config", "--binding", "CANARY_CONFIG", "--local", "--persist-to", dir, "--text"], { cwd: ROOT });
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout)).toEqual(JSON.parse(readFileSync(join(ROOT, "examples/config.json"), "utf8")));
    });
  });
});
