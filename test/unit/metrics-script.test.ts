// The committed metrics script module equals a fresh build of src/browser/metrics-client.ts
// (run `npx tsx scripts/checks/gen-metrics-script.ts` after changing it), and its name and
// integrity hash are of its content.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { METRICS_SCRIPT_FILE, metricsScriptModuleText } from "../../scripts/checks/gen-metrics-script.js";
import { METRICS_SCRIPT, METRICS_SCRIPT_HASH, METRICS_SCRIPT_SHA256 } from "../../src/edge/metrics-script.generated.js";
import { cspNonce } from "../../src/edge/html-inject.js";
import { ROOT } from "./cli-harness.js";

describe("src/edge/metrics-script.generated.ts", () => {
  it("equals a fresh build (run `npx tsx scripts/checks/gen-metrics-script.ts` after a change to src/browser)", async () => {
    expect(readFileSync(join(ROOT, METRICS_SCRIPT_FILE), "utf8")).toBe(await metricsScriptModuleText());
  });

  it("is named and pinned by its content", () => {
    expect(METRICS_SCRIPT_HASH).toBe(createHash("sha256").update(METRICS_SCRIPT).digest("hex").slice(0, 16));
    expect(METRICS_SCRIPT_SHA256).toBe(createHash("sha256").update(METRICS_SCRIPT).digest("base64"));
    expect(METRICS_SCRIPT).toContain("sendBeacon");
  });
});

describe("cspNonce", () => {
  it("finds the nonce of script-src (or default-src) and nothing else", () => {
    expect(cspNonce("default-src 'self'; script-src 'self' 'nonce-abc+/=' 'strict-dynamic'")).toBe("abc+/=");
    expect(cspNonce("default-src 'nonce-d1'")).toBe("d1");
    expect(cspNonce("style-src 'nonce-s1'; script-src 'self'")).toBeUndefined();
    expect(cspNonce("script-src 'nonce-\"><x'")).toBeUndefined();
    expect(cspNonce(null)).toBeUndefined();
  });
});
