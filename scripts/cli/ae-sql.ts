// A client for the Workers Analytics Engine SQL API: POST the query text to
// <apiBase>/client/v4/accounts/<account id>/analytics_engine/sql with a bearer token
// (Account Analytics Read). Response shape (FORMAT JSON), per
// https://developers.cloudflare.com/analytics/analytics-engine/sql-api/ and
// https://developers.cloudflare.com/analytics/analytics-engine/worker-querying/ :
// { meta: [{ name, type }], data: [{ <name>: value }], rows, rows_before_limit_at_least }.
// 64-bit integers (e.g. SUM(_sample_interval), a UInt64) may arrive as JSON strings, as
// in ClickHouse's JSON format; numeric columns are converted by their meta type.
import { CliError, firstLine, type CliIo } from "./common.js";

export const DEFAULT_API_BASE = "https://api.cloudflare.com";

export interface AeSqlColumn {
  name: string;
  type: string;
}

export interface AeSqlResult {
  meta: AeSqlColumn[];
  data: Array<Record<string, string | number | null>>;
  rows: number;
  rowsBeforeLimitAtLeast?: number;
}

export interface AeSqlTarget {
  apiBase: string;
  accountId: string;
  apiToken: string;
}

const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;

export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}

/** Checks the documented shape and converts numeric columns to numbers. */
export function parseAeSqlResponse(body: unknown): AeSqlResult {
  if (!body || typeof body !== "object") throw new CliError("AE SQL API: response is not a JSON object");
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.meta) || !Array.isArray(b.data)) throw new CliError("AE SQL API: response has no meta/data arrays (was FORMAT JSON used?)");
  const meta = b.meta.map((m, i) => {
    const c = m as Partial<AeSqlColumn> | null;
    if (!c || typeof c.name !== "string" || typeof c.type !== "string") throw new CliError(`AE SQL API: meta[${i}] lacks name/type`);
    return { name: c.name, type: c.type };
  });
  const data = b.data.map((row) => {
    const r = (row ?? {}) as Record<string, unknown>;
    const out: Record<string, string | number | null> = {};
    for (const c of meta) {
      const v = r[c.name];
      if (v === null || v === undefined) out[c.name] = null;
      else if (isNumericType(c.type)) out[c.name] = typeof v === "number" ? v : Number(v);
      else out[c.name] = typeof v === "string" || typeof v === "number" ? v : JSON.stringify(v);
    }
    return out;
  });
  const rows = typeof b.rows === "number" ? b.rows : data.length;
  const result: AeSqlResult = { meta, data, rows };
  if (typeof b.rows_before_limit_at_least === "number") result.rowsBeforeLimitAtLeast = b.rows_before_limit_at_least;
  return result;
}

export async function runAeSql(io: CliIo, target: AeSqlTarget, sql: string): Promise<AeSqlResult> {
  const url = `${target.apiBase.replace(/\/+$/, "")}/client/v4/accounts/${encodeURIComponent(target.accountId)}/analytics_engine/sql`;
  let res: Response;
  try {
    res = await io.fetch(url, { method: "POST", headers: { authorization: `Bearer ${target.apiToken}` }, body: sql });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    throw new CliError(`cannot reach the AE SQL API at ${url}: ${cause?.code ?? (e as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new CliError(`AE SQL API answered ${res.status}: ${apiMessage(text)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`AE SQL API: expected JSON, got ${JSON.stringify(firstLine(text))}`);
  }
  return parseAeSqlResponse(body);
}

/** Errors come as text, or as the v4 API envelope {errors: [{message}]}. */
function apiMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { errors?: Array<{ message?: string }> };
    const m = j.errors?.map((e) => e.message).filter(Boolean).join("; ");
    if (m) return m;
  } catch {
    // plain text
  }
  return firstLine(text) || "(empty body)";
}
