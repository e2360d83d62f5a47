// Two test tiers (STYLE.md rule 9): pure-core unit tests in Node, and Worker tests in
// real workerd through Miniflare, going through the real entry.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Console output is shown for failing tests only (the reporter reads this at the
    // root): the Worker's info logs (rollout changes) are noise in a passing run, and
    // expected error logs are asserted where they are provoked (loggedErrors).
    silent: "passed-only",
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              // Vitest 5 asks for node:inspector in the runner (to know whether a debugger
              // is attached); the plugin turns this module on only for v8 coverage, and
              // without it every test file logs a failed module fallback.
              compatibilityFlags: ["enable_nodejs_inspector_module"],
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                OVERRIDE_SECRET: "test-override-secret",
                IDENTITY_SECRET: "test-identity-secret",
                CONFIG_REFRESH_MS: "0",
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
