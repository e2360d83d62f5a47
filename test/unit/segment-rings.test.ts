// decideRings: the variant and the ring of a request from everyone's share, the rings'
// audiences and shares, and its bucket; waits only where a segment must (a promise only
// then); attribution to the first ring in plan order whatever the variant.
import { describe, expect, it } from "vitest";
import type { Ring } from "../../src/core/rollout/plan.js";
import { compiledSegments, decideRings, SegmentEvaluation } from "../../src/core/segments/segment-match.js";
import { configWith, facts, sources } from "../support/segment-fixtures.js";

const config = configWith({
  staff: { header: "x-staff", equals: "1", trusted: true },
  nz: { cf: "country", equals: "NZ" },
  beta: { identitiesKv: "beta" },
});
const ring = (key: string, percent: number, segments: string[] = [key], colos: string[] = []): Ring => ({ key, percent, audience: { segments, colos, continents: [] } });
const ev = (req: Parameters<typeof facts>[0], src = sources()) => new SegmentEvaluation(compiledSegments(config), facts(req), src);

describe("decideRings", () => {
  const rings = [ring("staff", 100), ring("nz", 50)];
  it.each([
    { name: "staff at 100% gets the canary", req: { headers: { "x-staff": "1" } }, bucket: 9999, everyone: 0, want: { canary: true, ring: "staff" } },
    { name: "nz within its 50%", req: { cf: { country: "NZ" } }, bucket: 4999, everyone: 0, want: { canary: true, ring: "nz" } },
    { name: "nz above its 50%", req: { cf: { country: "NZ" } }, bucket: 5000, everyone: 0, want: { canary: false, ring: "nz" } },
    { name: "staff in NZ counts in staff (first ring)", req: { headers: { "x-staff": "1" }, cf: { country: "NZ" } }, bucket: 7000, everyone: 0, want: { canary: true, ring: "staff" } },
    { name: "everyone else within everyone's share", req: { cf: { country: "AU" } }, bucket: 99, everyone: 1, want: { canary: true, ring: undefined } },
    { name: "everyone else above it", req: { cf: { country: "AU" } }, bucket: 100, everyone: 1, want: { canary: false, ring: undefined } },
    { name: "a ring member within everyone's share is still attributed", req: { cf: { country: "NZ" } }, bucket: 10, everyone: 5, want: { canary: true, ring: "nz" } },
  ])("$name", ({ req, bucket, everyone, want }) => {
    expect(decideRings(ev(req), rings, everyone, bucket)).toEqual(want);
  });

  it("a later ring can give the canary to a request attributed to an earlier one", () => {
    const two = [ring("nz", 10), ring("oc", 100, [], ["AKL"])];
    expect(decideRings(ev({ cf: { country: "NZ", colo: "AKL" } }), two, 0, 5000)).toEqual({ canary: true, ring: "nz" });
  });

  it("no rings: everyone's share only", () => {
    expect(decideRings(ev({}), [], 25, 2499)).toEqual({ canary: true, ring: undefined });
    expect(decideRings(ev({}), [], 25, 2500)).toEqual({ canary: false, ring: undefined });
  });

  it("waits only for a ring whose segment must load, and decides the same", async () => {
    const lists = { beta: Promise.resolve(new Set(["b1"])) };
    const r = decideRings(ev({ identity: "b1" }, sources({}, lists)), [ring("staff", 100), ring("beta", 100)], 0, 9000);
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toEqual({ canary: true, ring: "beta" });
    // Attributed to staff and given the canary by it: the beta list is never asked.
    let asked = 0;
    const counting = { secret: () => undefined, identityList: () => (asked++, Promise.resolve(new Set(["b1"]))) };
    expect(decideRings(ev({ identity: "b1", headers: { "x-staff": "1" } }, counting), [ring("staff", 100), ring("beta", 100)], 0, 9000)).toEqual({ canary: true, ring: "staff" });
    expect(asked).toBe(0);
  });
});
