// The country filter as a segment (countries-segment.ts) gives exactly what the filter
// gave before it was one: the old rule is kept here as the reference, and every filter
// shape is compared over every country a request can carry (and none).
import { describe, expect, it } from "vitest";
import { countryAllowed } from "../../src/core/segments/countries-segment.js";
import { facts } from "../support/segment-fixtures.js";

type Filter = { allow?: string[]; deny?: string[] } | undefined;

/** The filter as the request path had it (handle-request.ts before segments). */
function reference(filter: Filter, country: string): boolean {
  if (!filter) return true;
  if (filter.deny?.includes(country)) return false;
  if (filter.allow && !filter.allow.includes(country)) return false;
  return true;
}

const FILTERS: Filter[] = [undefined, {}, { allow: [] }, { deny: [] }, { allow: ["NZ"] }, { deny: ["NZ"] }, { allow: ["NZ", "AU"], deny: ["AU"] }, { allow: ["DE", "FR", "NZ"] }, { deny: ["CN", "RU"] }];
const COUNTRIES = ["", "NZ", "AU", "DE", "FR", "CN", "RU", "US", "T1", "XX"];

describe("countryAllowed", () => {
  it("agrees with the old filter on every filter shape and country", () => {
    let compared = 0;
    for (const filter of FILTERS) {
      for (const country of COUNTRIES) {
        const f = facts({ cf: country === "" ? undefined : { country } });
        expect(countryAllowed({ countries: filter }, f), `${JSON.stringify(filter)} ${country}`).toBe(reference(filter, country));
        compared++;
      }
    }
    expect(compared).toBe(FILTERS.length * COUNTRIES.length);
  });

  it.each([
    { filter: { allow: ["NZ"] }, country: "NZ", want: true },
    { filter: { allow: ["NZ"] }, country: "AU", want: false },
    { filter: { allow: ["NZ"] }, country: undefined, want: false },
    { filter: { deny: ["NZ"] }, country: "NZ", want: false },
    { filter: { deny: ["NZ"] }, country: undefined, want: true },
  ])("$filter with country $country is $want", ({ filter, country, want }) => {
    expect(countryAllowed({ countries: filter }, facts({ cf: country ? { country } : {} }))).toBe(want);
  });
});
