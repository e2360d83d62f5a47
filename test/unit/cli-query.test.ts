// Analytics Engine queries: every one is weighted by _sample_interval and carries the
// dataset, time window, schema-version and route filters; the route literal only ever
// holds a valid route id. `query` is run against a local HTTP server answering with
// fixture responses in the SQL API's documented FORMAT JSON shape
// ({meta, data, rows, rows_before_limit_at_least}; see
// https://developers.cloudflare.com/analytics/analytics-engine/sql-api/ and
// .../analytics-engine/worker-querying/). The fixture values are made up: there is no
// network here to record a live account; UInt64 sums are strings, as ClickHouse's JSON
// format quotes 64-bit integers, and the parser accepts numbers too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUERIES, QueryInputError, findQuery, routeLiteral } from "../../scripts/cli/queries.js";
import { parseAeSqlResponse } from "../../scripts/cli/ae-sql.js";
import { fixtureJson, runCli, startServer, type FakeServer } from "./cli-harness.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const TOKEN = "test-analytics-token";

describe("QUERIES", () => {
  it.each(QUERIES.map((q) => [q.name, q] as const))("%s is sampling-weighted and filtered", (_name, q) => {
    const sql = q.sql({ sinceSec: 3600, route: "shop" });
    expect(sql).toContain("FROM edge_canary");
    expect(sql).toMatch(/SUM\(_sample_interval\) AS (requests|user_events)/);
    expect(sql).toContain("timestamp > NOW() - INTERVAL '1' HOUR");
    expect(sql).toContain("double3 = 1");
    expect(sql).toContain("blob1 = 'shop'");
    expect(sql).toMatch(/FORMAT JSON$/);
    // No unweighted aggregate may sneak in.
    expect(sql).not.toMatch(/COUNT\s*\(/i);
    expect(sql).not.toMatch(/\bquantile\(|\bavg\(/i);
    for (const m of sql.matchAll(/quantile\w*\(([\d.]+)\)\(([^)]*)\)/g)) expect(m[2]).toBe("double1, _sample_interval");
    for (const m of sql.matchAll(/sumIf\(([^,]+),/g)) expect(m[1]).toBe("_sample_interval");
    // Without --route there is no route filter.
    expect(q.sql({ sinceSec: 3600 })).not.toContain("blob1 =");
  });

  it("variants has weighted p50, p95 and p99 and an error rate matching isErrorOutcome", () => {
    const sql = findQuery("variants")!.sql({ sinceSec: 900 });
    for (const p of ["0.5", "0.95", "0.99"]) expect(sql).toContain(`quantileExactWeighted(${p})(double1, _sample_interval)`);
    expect(sql).toContain("sumIf(_sample_interval, blob9 != 'none' OR double2 >= 500) / SUM(_sample_interval) AS error_rate");
    expect(sql).toContain("INTERVAL '15' MINUTE");
    expect(sql).toContain("GROUP BY route, variant");
  });

  it("colos groups by colo (blob4) and variant (blob2)", () => {
    const sql = findQuery("colos")!.sql({ sinceSec: 86_400 });
    expect(sql).toContain("blob4 AS colo");
    expect(sql).toContain("GROUP BY colo, variant");
    expect(sql).toContain("INTERVAL '1' DAY");
  });

  it("shadow reads only shadow comparisons, per route and path, with the mismatch share of all mirrors", () => {
    const sql = findQuery("shadow")!.sql({ sinceSec: 3600, route: "shop" });
    expect(sql).toContain("AND blob2 = 'shadow'");
    expect(sql).toContain("blob12 AS path");
    expect(sql).toContain("sumIf(_sample_interval, blob10 = 'mismatch') / SUM(_sample_interval) AS mismatch_rate");
    expect(sql).toContain("GROUP BY route, path");
    // The shadow filter comes after the shared WHERE clause, not instead of it.
    expect(sql.indexOf("blob1 = 'shop'")).toBeLessThan(sql.indexOf("blob2 = 'shadow'"));
  });

  it.each(["variants", "colos", "errors", "timeline"])("%s leaves metric events out (they are not requests)", (name) => {
    expect(findQuery(name)!.sql({ sinceSec: 3600 })).toContain("AND blob2 != 'metric'");
  });

  it.each(["metrics", "conversions"])("%s reads only metric events, one inner row per user, then per arm and metric", (name) => {
    const sql = findQuery(name)!.sql({ sinceSec: 3600, route: "shop" });
    expect(sql).toContain("AND blob2 = 'metric'");
    expect(sql).toMatch(/blob11 AS variant,\s+blob10 AS metric,\s+blob13 AS user_key/);
    expect(sql).toMatch(/GROUP BY (t, )?route, variant, metric, user_key\n\)\nGROUP BY (t, )?route, variant, metric\n/);
    // The shared filters are the inner query's (the outer one reads the subquery's columns).
    expect(sql.indexOf("double3 = 1")).toBeGreaterThan(sql.indexOf("FROM ("));
    // No outer alias reuses an inner column's name (ClickHouse would nest the aggregates).
    for (const m of sql.matchAll(/SUM\((\w+)\) AS (\w+)/g)) expect(m[1]).not.toBe(m[2]);
  });

  it("metrics averages each user's weighted mean value over users", () => {
    const sql = findQuery("metrics")!.sql({ sinceSec: 86_400 });
    expect(sql).toContain("SUM(_sample_interval * double5) / SUM(_sample_interval) AS user_mean");
    expect(sql).toContain("SUM(user_mean) / SUM(1) AS per_user_mean");
    expect(sql).toContain("SUM(1) AS users");
  });

  it.each(["shop' OR '1'='1", "Shop", "", "a b", "x;DROP", "-lead"])("refuses route %j before it reaches SQL", (route) => {
    expect(() => routeLiteral(route)).toThrow(QueryInputError);
    expect(() => findQuery("variants")!.sql({ sinceSec: 3600, route })).toThrow(QueryInputError);
  });

  it("refuses a window beyond AE's retention", () => {
    expect(() => findQuery("variants")!.sql({ sinceSec: 200 * 86_400 })).toThrow(/window/);
  });
});

describe("parseAeSqlResponse", () => {
  it("converts numeric columns by meta type and keeps strings", () => {
    const r = parseAeSqlResponse(fixtureJson("ae-sql/variants.json"));
    expect(r.rows).toBe(2);
    expect(r.data[0]).toEqual({ route: "shop", variant: "canary", requests: 4890, errors: 9, error_rate: 0.0018404907975460123, p50_ms: 44, p95_ms: 93, p99_ms: 141 });
    const t = parseAeSqlResponse(fixtureJson("ae-sql/timeline.json"));
    expect(t.data[0]!.t).toBe("2026-04-20 12:55:00");
  });

  it("rejects a body without meta/data", () => {
    expect(() => parseAeSqlResponse({ data: [] })).toThrow(/meta\/data/);
  });
});

describe("query", () => {
  let api: FakeServer;
  beforeAll(async () => {
    api = await startServer((req) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, json: { success: false, errors: [{ code: 10000, message: "Authentication error" }] } };
      if (req.method !== "POST" || req.url !== `/client/v4/accounts/${ACCOUNT}/analytics_engine/sql`) return { status: 404, text: "not found" };
      const name = /blob2 = 'metric'/.test(req.body) ? (/toStartOfInterval/.test(req.body) ? "conversions" : "metrics") : /blob2 = 'shadow'/.test(req.body) ? "shadow" : /blob4 AS colo/.test(req.body) ? "colos" : /toStartOfInterval/.test(req.body) ? "timeline" : /status_class/.test(req.body) ? "errors" : "variants";
      return { status: 200, json: fixtureJson(`ae-sql/${name}.json`) };
    });
  });
  afterAll(() => api.close());

  const env = { CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_TOKEN: TOKEN };

  it("POSTs the SQL with the bearer token and prints a table", async () => {
    const r = await runCli(["query", "variants", "--since", "30m", "--route", "shop", "--api-base", api.url], { env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const req = api.requests.at(-1)!;
    expect(req.body).toBe(findQuery("variants")!.sql({ sinceSec: 1800, route: "shop" }));
    expect(r.out.split("\n")[0]).toMatch(/^route\s+variant\s+requests\s+errors\s+error_rate\s+p50_ms\s+p95_ms\s+p99_ms$/);
    expect(r.out).toMatch(/shop\s+canary\s+4,890\s+9\s+0\.18%\s+44\.0\s+93\.0\s+141\.0/);
    expect(r.out).toMatch(/shop\s+stable\s+93,110\s+104\s+0\.11%\s+41\.0\s+88\.0\s+132\.0/);
  });

  it("takes credentials from flags, prints JSON rows, and notes a LIMIT cut", async () => {
    const json = await runCli(["query", "colos", "--json", "--account-id", ACCOUNT, "--api-token", TOKEN, "--api-base", api.url]);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.out) as { query: string; rows: Array<Record<string, unknown>> };
    expect(body.query).toBe("colos");
    expect(body.rows[0]).toEqual({ colo: "FRA", variant: "stable", requests: 41020, error_rate: 0.0009751340809361287, p95_ms: 79 });
    const table = await runCli(["query", "colos", "--api-base", api.url], { env });
    expect(table.out).toContain("(4 of at least 9 rows)");
  });

  it("shadow prints the mismatch rate by path from the SQL API", async () => {
    const r = await runCli(["query", "shadow", "--since", "1h", "--route", "shop", "--api-base", api.url], { env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(api.requests.at(-1)!.body).toBe(findQuery("shadow")!.sql({ sinceSec: 3600, route: "shop" }));
    expect(r.out.split("\n")[0]).toMatch(/^route\s+path\s+requests\s+mismatches\s+mismatch_rate\s+canary_failures\s+skipped$/);
    expect(r.out).toMatch(/shop\s+\/api\/cart\s+1,204\s+31/);
    const json = await runCli(["query", "shadow", "--json", "--api-base", api.url], { env });
    const body = JSON.parse(json.out) as { rows: Array<Record<string, unknown>> };
    expect(body.rows[0]).toEqual({ route: "shop", path: "/api/cart", requests: 1204, mismatches: 31, mismatch_rate: 0.025747508305647843, canary_failures: 2, skipped: 0 });
  });

  it("metrics prints per-user means per arm and metric from the SQL API", async () => {
    const r = await runCli(["query", "metrics", "--since", "24h", "--route", "shop", "--api-base", api.url], { env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(api.requests.at(-1)!.body).toBe(findQuery("metrics")!.sql({ sinceSec: 86_400, route: "shop" }));
    expect(r.out.split("\n")[0]).toMatch(/^route\s+variant\s+metric\s+users\s+events\s+events_per_user\s+per_user_mean$/);
    expect(r.out).toMatch(/shop\s+canary\s+quality\s+688\s+1,920\s+2\.791\s+0\.811/);
    expect(r.out).toMatch(/shop\s+stable\s+checkout\s+4,031\s+4,790\s+1\.188\s+1/);
    const json = await runCli(["query", "metrics", "--json", "--api-base", api.url], { env });
    const body = JSON.parse(json.out) as { rows: Array<Record<string, unknown>> };
    expect(body.rows[2]).toEqual({ route: "shop", variant: "canary", metric: "quality", users: 688, events: 1920, events_per_user: 2.7906976744186047, per_user_mean: 0.8112 });
  });

  it("conversions prints converting users per hour and arm", async () => {
    const r = await runCli(["query", "conversions", "--since", "2h", "--api-base", api.url], { env });
    expect(r.code).toBe(0);
    expect(api.requests.at(-1)!.body).toBe(findQuery("conversions")!.sql({ sinceSec: 7200 }));
    expect(r.out).toMatch(/2026-04-20 12:00:00\s+shop\s+stable\s+checkout\s+1,870\s+2,204/);
    expect(r.out).toMatch(/2026-04-20 13:00:00\s+shop\s+canary\s+checkout\s+115\s+138/);
  });

  it("exits 1 with a clear message without credentials, and sends nothing", async () => {
    const before = api.requests.length;
    const r = await runCli(["query", "variants", "--api-base", api.url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: no Cloudflare credentials: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN/);
    expect(api.requests.length).toBe(before);
  });

  it("renders an API error as one line and exits 1", async () => {
    const r = await runCli(["query", "variants", "--api-base", api.url], { env: { ...env, CLOUDFLARE_API_TOKEN: "wrong" } });
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: AE SQL API answered 401: Authentication error\n");
  });

  it("treats a bad route, window or query name as a usage error", async () => {
    expect((await runCli(["query", "variants", "--route", "x'--"], { env })).code).toBe(2);
    expect((await runCli(["query", "variants", "--since", "yesterday"], { env })).code).toBe(2);
    expect((await runCli(["query", "nope"], { env })).code).toBe(2);
  });

  it("--sql prints the query without credentials", async () => {
    const r = await runCli(["query", "errors", "--sql", "--since", "2h"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("INTERVAL '2' HOUR");
  });
});
