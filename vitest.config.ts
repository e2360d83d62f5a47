// Two test tiers (STYLE.md rule 9): pure-core unit tests in Node, and Worker tests in
// real workerd through Miniflare, going through the real entry.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
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
