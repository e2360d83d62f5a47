// Which segments, audiences and ring a request is in. A config's segments are compiled
// once per parsed Config (WeakMap); a SegmentEvaluation is one request's view, which
// evaluates each segment at most once however many rings name it. Answers are
// synchronous unless a source must wait (predicate.ts).
//
// decideRings is the request path's rule (ARCHITECTURE.md, issue "Segments and rings"):
// canary when the bucket is below everyone's share, or the request is in a ring's audience
// and the bucket is below that ring's share; attributed to the first ring (plan order)
// whose audience it is in, whatever its variant. Rings the bucket cannot use are only
// evaluated while the attribution is still open.
import type { Config, SegmentsConfig } from "../config/schema.js";
import type { Audience, Ring } from "../rollout/plan.js";
import { compileSegment, type Predicate, type Verdict } from "./predicate.js";
import type { RequestFacts, SegmentSources } from "./request-facts.js";

const compiled = new WeakMap<SegmentsConfig, ReadonlyMap<string, Predicate>>();

/** The config's segments, compiled on first use per parsed config. */
export function compiledSegments(config: Pick<Config, "segments">): ReadonlyMap<string, Predicate> {
  let map = compiled.get(config.segments);
  if (map === undefined) {
    map = new Map(Object.entries(config.segments).map(([name, s]) => [name, compileSegment(s)]));
    compiled.set(config.segments, map);
  }
  return map;
}

/** One request's segment verdicts, each computed at most once. */
export class SegmentEvaluation {
  private readonly seen = new Map<string, Verdict>();
  constructor(
    private readonly segments: ReadonlyMap<string, Predicate>,
    readonly facts: RequestFacts,
    private readonly sources: SegmentSources,
  ) {}

  /** Whether the request is in the named segment; an unknown name never matches. */
  segment(name: string): Verdict {
    let v = this.seen.get(name);
    if (v === undefined) {
      const p = this.segments.get(name);
      v = p === undefined ? false : safely(() => p(this.facts, this.sources));
      if (v instanceof Promise) v = v.then((ok) => this.settle(name, ok), () => this.settle(name, false));
      this.seen.set(name, v);
    }
    return v;
  }

  /** Whether the request is in an audience: its colo or continent is named, or it is in one of its segments. */
  audience(a: Audience): Verdict {
    if (a.colos.length > 0) {
      const colo = this.facts.cf("colo");
      if (colo !== undefined && a.colos.includes(colo)) return true;
    }
    if (a.continents.length > 0) {
      const continent = this.facts.cf("continent");
      if (continent !== undefined && (a.continents as readonly string[]).includes(continent)) return true;
    }
    return this.anySegment(a.segments, 0);
  }

  private anySegment(names: readonly string[], i: number): Verdict {
    for (; i < names.length; i++) {
      const v = this.segment(names[i]!);
      if (v === true) return true;
      if (v !== false) {
        const next = i + 1;
        return v.then((ok) => ok || this.anySegment(names, next));
      }
    }
    return false;
  }

  private settle(name: string, ok: boolean): boolean {
    this.seen.set(name, ok);
    return ok;
  }
}

function safely(run: () => Verdict): Verdict {
  try {
    return run();
  } catch {
    return false;
  }
}

export interface RingDecision {
  canary: boolean;
  /** The first ring (plan order) whose audience the request is in; undefined: everyone else. */
  ring: string | undefined;
}

/**
 * The variant and ring of a request with bucket `bucket` (0..9999) when everyone gets
 * `everyone` percent and each ring's audience its own `percent` (plan.ts exposureAt).
 */
export function decideRings(ev: SegmentEvaluation, rings: readonly Ring[], everyone: number, bucket: number): RingDecision | Promise<RingDecision> {
  return fromRing(ev, rings, bucket, 0, { canary: bucket < Math.round(everyone * 100), ring: undefined });
}

function fromRing(ev: SegmentEvaluation, rings: readonly Ring[], bucket: number, i: number, d: RingDecision): RingDecision | Promise<RingDecision> {
  for (; i < rings.length; i++) {
    if (d.ring !== undefined && d.canary) return d;
    const r = rings[i]!;
    const gives = bucket < Math.round(r.percent * 100);
    // Attributed already and this ring cannot give the canary: nothing left to learn from it.
    if (d.ring !== undefined && !gives) continue;
    const v = ev.audience(r.audience);
    if (v === false) continue;
    if (v === true) d = apply(d, r, gives);
    else {
      const next = i + 1;
      return v.then((ok) => fromRing(ev, rings, bucket, next, ok ? apply(d, r, gives) : d));
    }
  }
  return d;
}

const apply = (d: RingDecision, r: Ring, gives: boolean): RingDecision => ({ canary: d.canary || gives, ring: d.ring ?? r.key });
