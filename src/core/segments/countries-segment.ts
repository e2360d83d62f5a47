// The route's country filter (route.countries: allow / deny on request.cf.country) as a
// segment predicate, evaluated by the same code as config.segments: a request is allowed
// when its country is in `allow` (if set) and not in `deny` (if set). A request without a
// country is outside every list: refused by an allow list, let through by a deny list, as
// the filter always did. Compiled once per parsed route.
import type { RouteConfig } from "../config/schema.js";
import { compilePredicate, type Predicate } from "./predicate.js";
import type { RequestFacts, SegmentSources } from "./request-facts.js";

const compiled = new WeakMap<NonNullable<RouteConfig["countries"]>, Predicate>();

const NO_SOURCES: SegmentSources = { secret: () => undefined, identityList: () => undefined };

/** Whether the route's country filter lets the request have the canary (true without a filter). */
export function countryAllowed(route: Pick<RouteConfig, "countries">, facts: RequestFacts): boolean {
  const filter = route.countries;
  if (filter === undefined) return true;
  let p = compiled.get(filter);
  if (p === undefined) compiled.set(filter, (p = countriesPredicate(filter)));
  // A cf predicate is always synchronous.
  return p(facts, NO_SOURCES) === true;
}

function countriesPredicate(filter: NonNullable<RouteConfig["countries"]>): Predicate {
  const allow = filter.allow === undefined ? undefined : compilePredicate({ cf: "country", in: filter.allow });
  const deny = filter.deny === undefined ? undefined : compilePredicate({ cf: "country", in: filter.deny });
  return (f, s) => (deny === undefined || deny(f, s) === false) && (allow === undefined || allow(f, s) === true);
}
