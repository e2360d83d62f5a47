// The body of a browser beacon (POST <ADMIN_BASE_PATH>/beacon), parsed from untrusted text:
//   { "page": "/checkout", "source": "script", "events": [{ "name": "checkout", "value": 1 }] }
// `page` is the path of the page the events happened on (the route is matched by host and
// this path; absent: the Referer's). `source` labels what sent it ("script": the injected
// script; anything else or absent: a page's own beacon). `value` defaults to 1. Unknown
// keys are ignored (a claimed "variant" among them: the server attributes it), wrong
// types are refused whole: a beacon is accepted entirely or changes nothing.
import { err, ok, type Result } from "../result.js";
import type { MetricSource } from "./metric-event.js";

/** Largest beacon body, bytes: 32 events of long names fit in a quarter of it. */
export const MAX_BEACON_BYTES = 8 * 1024;
/** Events one beacon carries at most. */
export const MAX_BEACON_EVENTS = 32;
/** Longest event name kept for the metric-name check (route.metrics names are at most 32). */
export const MAX_EVENT_NAME = 64;
/** Longest page path. */
export const MAX_PAGE_PATH = 2048;
/** Largest |value|: a bound far beyond any ms, score or count, so sums stay finite. */
export const MAX_EVENT_VALUE = 1e9;

export interface BeaconEvent {
  name: string;
  value: number;
}

export interface BeaconPayload {
  /** Path of the page, starting with "/"; undefined: not given. */
  page: string | undefined;
  source: Extract<MetricSource, "beacon" | "script">;
  events: BeaconEvent[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The payload of a beacon body, or why it is malformed (a message for the 400). */
export function parseBeaconPayload(text: string): Result<BeaconPayload, string> {
  if (text.length > MAX_BEACON_BYTES) return err(`body over ${MAX_BEACON_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return err("body must be JSON");
  }
  if (!isRecord(body)) return err("body must be a JSON object");
  const { events, page, source } = body;
  if (!Array.isArray(events)) return err("events must be an array");
  if (events.length === 0) return err("events must not be empty");
  if (events.length > MAX_BEACON_EVENTS) return err(`events has ${events.length} entries, at most ${MAX_BEACON_EVENTS}`);
  if (page !== undefined && (typeof page !== "string" || !page.startsWith("/") || page.length > MAX_PAGE_PATH)) {
    return err(`page must be a path starting with "/" (at most ${MAX_PAGE_PATH} characters)`);
  }
  const out: BeaconEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    const e: unknown = events[i];
    if (!isRecord(e)) return err(`events[${i}] must be an object`);
    const { name, value } = e;
    if (typeof name !== "string" || name === "" || name.length > MAX_EVENT_NAME) return err(`events[${i}].name must be a non-empty string of at most ${MAX_EVENT_NAME} characters`);
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) > MAX_EVENT_VALUE)) {
      return err(`events[${i}].value must be a finite number of at most ${MAX_EVENT_VALUE} in size`);
    }
    out.push({ name, value: value ?? 1 });
  }
  return ok({ page, source: source === "script" ? "script" : "beacon", events: out });
}
