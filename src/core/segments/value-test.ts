// The tests a predicate applies to the value its source read (a header, a cookie, a cf
// field, a claim): equals, in, prefix, suffix, regex, present. Compiled once per config
// (the regex built once, `in` a Set). A value longer than MAX_SEGMENT_VALUE never
// matches, whatever the test, so no client-sized string reaches a regex.
import { MAX_SEGMENT_VALUE, type PredicateConfig } from "../config/schema.js";

/** A value as a source gives it: absent, one string, or several (a list claim such as groups: any one may match). */
export type SourceValue = string | readonly string[] | undefined;

export type ValueTest = (value: SourceValue) => boolean;

type TestFields = Pick<PredicateConfig, "equals" | "in" | "prefix" | "suffix" | "regex" | "present">;

/** The predicate's test as a function; a predicate without one (the schema refuses it) never matches. */
export function compileTest(p: TestFields): ValueTest {
  const one = compileOne(p);
  return (value) => {
    if (value === undefined) return false;
    if (typeof value === "string") return value.length <= MAX_SEGMENT_VALUE && one(value);
    for (const v of value) if (v.length <= MAX_SEGMENT_VALUE && one(v)) return true;
    return false;
  };
}

function compileOne(p: TestFields): (value: string) => boolean {
  if (p.equals !== undefined) {
    const want = p.equals;
    return (v) => v === want;
  }
  if (p.in !== undefined) {
    const set = new Set(p.in);
    return (v) => set.has(v);
  }
  if (p.prefix !== undefined) {
    const want = p.prefix;
    return (v) => v.startsWith(want);
  }
  if (p.suffix !== undefined) {
    const want = p.suffix;
    return (v) => v.endsWith(want);
  }
  if (p.regex !== undefined) {
    const re = compileRegex(p.regex);
    return re ? (v) => re.test(v) : () => false;
  }
  if (p.present === true) return () => true;
  return () => false;
}

/** No `g` or `y` flag: test() then keeps no state between requests. Invalid: never matches (the schema refuses it anyway). */
function compileRegex(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern);
  } catch {
    return undefined;
  }
}
