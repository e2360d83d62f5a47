// The admin API's query parameters, validated: a malformed, repeated or unknown
// parameter is a 400 that names it, never a silent default (events?before=abc used to
// answer 200 with the first page). Pure, so the cases are unit-tested in Node.
import { EVENTS_LIMIT } from "./admin-protocol.js";
import { err, ok, type Result } from "./result.js";

export interface EventsQuery {
  route?: string;
  limit: number;
  before?: number;
}

/** Route ids as the config schema allows them (schema.ts, routes[].id). */
const ROUTE_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const DIGITS = /^[0-9]{1,16}$/;

/** Refuses parameters other than `allowed`, and any given twice. */
export function checkParams(params: URLSearchParams, allowed: readonly string[], endpoint: string): Result<void, string> {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    const shown = JSON.stringify(name.slice(0, 40));
    if (!allowed.includes(name)) {
      return err(`unknown query parameter ${shown}: ${endpoint} takes ${allowed.length ? allowed.join(", ") : "none"}`);
    }
    if (seen.has(name)) return err(`query parameter ${shown} given more than once`);
    seen.add(name);
  }
  return ok(undefined);
}

export function parseEventsQuery(params: URLSearchParams): Result<EventsQuery, string> {
  const checked = checkParams(params, ["route", "limit", "before"], "events");
  if (!checked.ok) return checked;
  const shown = (v: string) => JSON.stringify(v.slice(0, 40));
  const out: EventsQuery = { limit: EVENTS_LIMIT.default };
  const route = params.get("route");
  if (route !== null) {
    if (!ROUTE_ID.test(route)) return err(`query parameter route must be a route id (1-63 chars of a-z, 0-9, - and _), got ${shown(route)}`);
    out.route = route;
  }
  const limit = params.get("limit");
  if (limit !== null) {
    const n = DIGITS.test(limit) ? Number(limit) : Number.NaN;
    if (!(n >= EVENTS_LIMIT.min && n <= EVENTS_LIMIT.max)) {
      return err(`query parameter limit must be an integer from ${EVENTS_LIMIT.min} to ${EVENTS_LIMIT.max}, got ${shown(limit)}`);
    }
    out.limit = n;
  }
  const before = params.get("before");
  if (before !== null) {
    const n = DIGITS.test(before) ? Number(before) : Number.NaN;
    if (!(n >= 1 && Number.isSafeInteger(n))) return err(`query parameter before must be an audit id (a positive integer), got ${shown(before)}`);
    out.before = n;
  }
  return ok(out);
}
