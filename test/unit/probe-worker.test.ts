// The bench's probe Worker (`npm run bench -- --probe <op>`) in real workerd: every
// operation it can repeat runs there without throwing and the floor still answers, so
// a probe run prices the operation and not an error page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Miniflare } from "miniflare";
import { baselineWorkerOptions, wranglerCompatibilityDate } from "../../scripts/lib/local-worker.js";
import { startOrigin, type OriginServer } from "../../scripts/lib/origin-server.js";
import { OPS } from "../../scripts/bench/probe-worker.js";

const ops = Object.keys(OPS);
let origin: OriginServer;
let mf: Miniflare;

beforeAll(async () => {
  origin = await startOrigin("probe-origin");
  const date = await wranglerCompatibilityDate();
  const worker = (op: string) => {
    const { host: _host, port: _port, ...options } = baselineWorkerOptions("probe-worker.js", origin.url, date, { PROBE_OP: op, PROBE_N: "3" });
    return { ...options, name: `probe-${op}` };
  };
  mf = new Miniflare({ workers: [...ops, "no-such-op"].map(worker) } as ConstructorParameters<typeof Miniflare>[0]);
  await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await origin?.close();
});

describe("probe-worker.js", () => {
  it.each(ops)("%s runs in workerd and the floor behind it still answers", async (op) => {
    const fetcher = await mf.getWorker(`probe-${op}`);
    const res = await fetcher.fetch("http://bench.local/api/items?page=2", { headers: { cookie: "canary_id=u1", "x-canary-forged": "1" } });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(res.headers.get("x-canary-variant")).toBe("stable");
    expect(res.headers.get("x-canary-release")).toBe("floor");
  });

  it("names an unknown operation instead of answering", async () => {
    const res = await (await mf.getWorker("probe-no-such-op")).fetch("http://bench.local/");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("unknown PROBE_OP no-such-op");
  });
});
