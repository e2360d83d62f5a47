// Records the admin API replies the CLI tests render (test/fixtures/admin/recorded-*.json)
// from the real Worker, so those tests follow the API as it is, not as it was when a
// fixture was written by hand. Why a script: the status shape grows with the product
// (guardrail defaults, evidence fields), and a stale recording would let the CLI break on
// today's replies while its tests pass on yesterday's.
//
// What it does: two real origins on 127.0.0.1, the deploy bundle in Miniflare with
// wrangler.jsonc's bindings, two routes ("shop" with steps, "api" manual at 10%), traffic
// from 150 users on each, then as an operator: pause shop, promote api, roll shop back
// ("drill"); it writes GET /status and GET /events as the API returned them.
//
//   npx tsx scripts/checks/record-admin-fixtures.ts [--out test/fixtures/admin] [--keep]
//     --keep: leave the Worker running afterwards (prints its admin URL and token, for the
//     CLI or the dashboard) until Ctrl-C
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_ADMIN_BASE_PATH } from "../../src/core/admin-protocol.js";
import { adminCall } from "../cli/common.js";
import { repoRoot, startLocalWorker } from "../lib/local-worker.js";
import { startOrigin } from "../lib/origin-server.js";

const TOKEN = "record-admin-token";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string", default: join(repoRoot, "test/fixtures/admin") }, keep: { type: "boolean", default: false } } });
  const out = resolve(values.out!);
  const stable = await startOrigin("stable");
  const canary = await startOrigin("canary");
  const origins = { stable: { origin: stable.url }, canary: { origin: canary.url } };
  const sticky = { source: "header", name: "x-user-id" };
  const worker = await startLocalWorker({
    bindings: { ADMIN_TOKEN: TOKEN },
    config: {
      version: 1,
      sync: { intervalMs: 500 },
      routes: [
        { id: "shop", match: { pathPrefix: "/shop" }, ...origins, release: "v2.4.0", steps: { weights: [10, 25, 50, 100], minDurationSec: 600, minRequests: 50 }, sticky },
        { id: "api", match: { pathPrefix: "/" }, ...origins, release: "2026-04-20.1", weight: 10, sticky },
      ],
    },
  });
  try {
    const base = worker.url;
    // The CLI's own admin client: the fixtures are recorded the way the CLI asks.
    const target = { base: new URL(DEFAULT_ADMIN_BASE_PATH, base).href, token: TOKEN };
    const admin = (method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> => adminCall({ fetch }, target, method, path, body);
    for (let i = 0; i < 150; i++) {
      for (const path of ["/shop/cart", "/api/items"]) {
        const res = await fetch(new URL(path, base), { headers: { "x-user-id": `user-${i}` } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path}: status ${res.status}`);
      }
    }
    // Let the isolate deliver its evidence (sync every 500 ms) before the commands.
    await new Promise((r) => setTimeout(r, 1500));
    await admin("POST", "/routes/shop/pause", { reason: "look at the canary dashboards" });
    await admin("POST", "/routes/api/promote", { reason: "ship" });
    await admin("POST", "/routes/shop/rollback", { reason: "drill" });
    const status = await admin("GET", "/status");
    const events = await admin("GET", "/events");
    await writeFile(join(out, "recorded-status.json"), `${JSON.stringify(status, null, 2)}\n`);
    await writeFile(join(out, "recorded-events.json"), `${JSON.stringify(events, null, 2)}\n`);
    console.log(`written ${join(out, "recorded-status.json")} and recorded-events.json`);
    if (values.keep) {
      console.log(`admin: CANARY_URL=${new URL("/__canary", base).href} CANARY_ADMIN_TOKEN=${TOKEN} (Ctrl-C stops)`);
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
    }
  } finally {
    await worker.dispose();
    await stable.close();
    await canary.close();
  }
}

await main();
