// One predicate or segment compiled into a function of the request: a source read and a
// test (value-test.ts), or all / any of several. Compiled once per parsed config
// (segment-match.ts), so the request path runs closures, not the config's shape. A
// verdict is a boolean, and a promise only where a source must wait (a JWT not yet
// verified in this isolate, a KV identity list not yet read); a failing source is a
// false verdict, never a throw.
import type { PredicateConfig, SegmentConfig } from "../config/schema.js";
import { JwtClaimReader } from "./jwt-claim.js";
import type { RequestFacts, SegmentSources } from "./request-facts.js";
import { compileTest, type SourceValue } from "./value-test.js";

export type Verdict = boolean | Promise<boolean>;
export type Predicate = (facts: RequestFacts, sources: SegmentSources) => Verdict;

const never: Predicate = () => false;

export function compilePredicate(p: PredicateConfig): Predicate {
  if (p.identities !== undefined) {
    const ids = new Set(p.identities);
    return (f) => ids.has(f.identity);
  }
  if (p.identitiesKv !== undefined) {
    const key = p.identitiesKv;
    return (f, s) => {
      const list = s.identityList(key);
      if (list === undefined) return false;
      if (list instanceof Promise) return list.then((l) => l?.has(f.identity) === true, () => false);
      return list.has(f.identity);
    };
  }
  const test = compileTest(p);
  if (p.header !== undefined) {
    const name = p.header;
    return (f) => test(f.header(name) ?? undefined);
  }
  if (p.cookie !== undefined) {
    const name = p.cookie;
    return (f) => test(f.cookie(name));
  }
  if (p.cf !== undefined) {
    const field = p.cf;
    return (f) => test(f.cf(field));
  }
  if (p.url !== undefined) {
    return p.url === "host" ? (f) => test(f.host) : (f) => test(f.path);
  }
  if (p.jwt !== undefined) {
    const reader = new JwtClaimReader(p.jwt);
    return (f, s) => {
      const v = reader.read(f, s);
      return v instanceof Promise ? v.then(test, () => false) : test(v as SourceValue);
    };
  }
  return never;
}

export function compileSegment(s: SegmentConfig): Predicate {
  if (s.all !== undefined) return allOf(s.all.map(compilePredicate));
  if (s.any !== undefined) return anyOf(s.any.map(compilePredicate));
  return compilePredicate(s);
}

/** Every one of `parts`; stops at the first false, waits only from the first promise on. */
export function allOf(parts: readonly Predicate[]): Predicate {
  const from = (i: number, f: RequestFacts, s: SegmentSources): Verdict => {
    for (; i < parts.length; i++) {
      const v = parts[i]!(f, s);
      if (v === false) return false;
      if (v !== true) {
        const next = i + 1;
        return v.then((ok) => ok && from(next, f, s), () => false);
      }
    }
    return true;
  };
  return (f, s) => from(0, f, s);
}

/** Any one of `parts`; stops at the first true, waits only from the first promise on. */
export function anyOf(parts: readonly Predicate[]): Predicate {
  const from = (i: number, f: RequestFacts, s: SegmentSources): Verdict => {
    for (; i < parts.length; i++) {
      const v = parts[i]!(f, s);
      if (v === true) return true;
      if (v !== false) {
        const next = i + 1;
        return v.then((ok) => ok || from(next, f, s), () => from(next, f, s));
      }
    }
    return false;
  };
  return (f, s) => from(0, f, s);
}
