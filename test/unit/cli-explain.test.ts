// `canary explain` against a fake admin API on 127.0.0.1 that answers as
// src/admin/explain.ts does: the flags become the ExplainRequest body, the answer is
// printed as route, stage, ring, bucket, variant, reason and segments, or as JSON; bad
// flags are usage errors and an API error exits 1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExplainRequest, ExplainResponse } from "../../src/core/admin-protocol.js";
import { runCli, startServer, type FakeServer } from "./cli-harness.js";

const TOKEN = "test-admin-token";
const ANSWER: ExplainResponse = {
  route: "www",
  release: "v2",
  stage: "staff+nz 100%",
  segments: { staff: true, nz: false },
  ring: "staff+nz",
  bucket: 4210,
  variant: "canary",
  reason: "in ring staff+nz at 100%: bucket 4210 < 10000",
};

let api: FakeServer;
let env: Record<string, string>;

beforeAll(async () => {
  api = await startServer((req) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, json: { status: 401, error: "wrong token" } };
    if (req.method !== "POST" || req.url !== "/__canary/api/explain") return { status: 404, json: { status: 404, error: "no such admin endpoint" } };
    const body = JSON.parse(req.body) as ExplainRequest;
    if (body.url === "/boom") return { status: 400, json: { status: 400, error: "cf: unknown field \"planet\"" } };
    return { status: 200, json: ANSWER };
  });
  env = { CANARY_URL: api.url, CANARY_ADMIN_TOKEN: TOKEN };
});
afterAll(() => api.close());

describe("explain", () => {
  it("sends every flag in the request body and prints the answer", async () => {
    const r = await runCli(
      ["explain", "--header", "x-staff: 1", "--header", "X-Team: web", "--cookie", "sso=abc", "--cookie", "plan=pro", "--country", "nz", "--colo", "akl", "--continent", "OC", "--asn", "13335", "--cf", "region=Auckland", "--identity", "user-7", "--method", "post", "https://shop.test/checkout"],
      { env },
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(api.requests.at(-1)!.body)).toEqual({
      url: "https://shop.test/checkout",
      method: "POST",
      headers: { "x-staff": "1", "x-team": "web", cookie: "sso=abc; plan=pro" },
      cf: { region: "Auckland", country: "NZ", colo: "AKL", continent: "OC", asn: "13335" },
      identity: "user-7",
    });
    expect(r.out).toMatch(/^route:\s+www, release v2$/m);
    expect(r.out).toMatch(/^stage:\s+staff\+nz 100%$/m);
    expect(r.out).toMatch(/^ring:\s+staff\+nz$/m);
    expect(r.out).toMatch(/^bucket:\s+4210$/m);
    expect(r.out).toMatch(/^variant:\s+canary$/m);
    expect(r.out).toMatch(/^reason:\s+in ring staff\+nz at 100%: bucket 4210 < 10000$/m);
    expect(r.out).toMatch(/^\s+staff\s+yes$/m);
    expect(r.out).toMatch(/^\s+nz\s+no$/m);
  });

  it("--json prints the API's answer unchanged; a path alone is sent as is", async () => {
    const r = await runCli(["explain", "--json", "/path"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(ANSWER);
    expect(JSON.parse(api.requests.at(-1)!.body)).toEqual({ url: "/path" });
  });

  it("--help lists every flag", async () => {
    const r = await runCli(["explain", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--header", "--cookie", "--country", "--colo", "--continent", "--asn", "--cf", "--identity", "--method", "--json", "--url", "--token"]) expect(r.out).toContain(flag);
  });

  it.each([
    [["explain"], /missing argument: <url-or-path>/],
    [["explain", "--header", "x-staff", "/"], /--header must look like 'name: value'/],
    [["explain", "--cookie", "nocookie", "/"], /--cookie must look like 'name=value'/],
    [["explain", "--asn", "AS13335", "/"], /--asn must be a number/],
    [["explain", "--cf", "planet=mars", "/"], /--cf must look like field=value/],
    [["explain", "shop.test/x"], /must be an absolute http\(s\) URL or a path/],
    [["explain", "--frobnicate", "/"], /Unknown option '--frobnicate'/],
  ])("%j is a usage error", async (args, want) => {
    const r = await runCli(args as string[], { env });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(want);
  });

  it("an API error is one line and exit 1", async () => {
    const r = await runCli(["explain", "/boom"], { env });
    expect(r.code).toBe(1);
    expect(r.err).toBe('error: POST /explain failed: 400 Bad Request: cf: unknown field "planet"\n');
  });
});
