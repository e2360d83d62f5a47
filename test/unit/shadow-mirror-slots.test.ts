// The mirror's in-flight slots in Node against a real canary origin on 127.0.0.1: the
// sink's trailing sync (which can take a sync interval) is not a mirror in flight, so a
// mirror whose outcome is recorded frees its slot before that sync ends.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ShadowOutcome } from "../../src/core/shadow/shadow-outcome.js";
import { requestTarget } from "../../src/edge/request-target.js";
import { ShadowMirror } from "../../src/edge/shadow-mirror.js";
import { routeConfig } from "../support/route-fixture.js";

let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("ShadowMirror slots", () => {
  it("frees a mirror's slot once its outcome is recorded, before the sink's trailing sync ends", async () => {
    const route = routeConfig({ canary: { origin }, stable: { origin }, shadow: { maxInFlight: 1, latencyPairs: 0 } });
    const mirrors = new ShadowMirror(() => Date.now());
    const url = new URL("http://shop.test/page");
    const ctx = { route, method: "GET", url: requestTarget(url), identity: "u1", colo: "", country: "" };
    const first = mirrors.prepare(new Request(url), ctx);
    expect(first).toBeDefined();
    // The one slot is taken: a second request is not mirrored.
    expect(mirrors.prepare(new Request(url), ctx)).toBeUndefined();

    let recorded: ShadowOutcome | undefined;
    let endTrailing!: () => void;
    const trailing = new Promise<void>((r) => (endTrailing = r));
    const stable = { status: 200, originMs: 1, errorKind: "none" as const, response: new Response("ok") };
    const run = first!.run(stable, { recordShadow: (o) => ((recorded = o), trailing) });
    await expect.poll(() => recorded?.kind).toBe("match");
    // The trailing sync is still pending, yet the slot is free.
    const next = mirrors.prepare(new Request(url), ctx);
    expect(next).toBeDefined();
    next!.release();
    endTrailing();
    await run;
  });
});
