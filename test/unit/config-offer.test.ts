// Table-driven tests of acceptOffer: which isolate-offered route config a coordinator
// adopts while the KV document it reads is rejected.
import { describe, expect, it } from "vitest";
import { acceptOffer, type HeldRoute } from "../../src/coordinator/config-offer.js";
import { routeHash } from "../../src/core/route-hash.js";
import { routeConfig } from "../support/route-fixture.js";

const mine = routeConfig({ weight: 10 });
const theirs = routeConfig({ weight: 50 });
const held: HeldRoute = { config: mine, hash: routeHash(mine), loadedAt: 1000 };
const offer = (loadedAt: number, route = theirs, configHash = routeHash(route)) => ({ configHash, offer: { route, loadedAt } });

describe("acceptOffer", () => {
  it.each([
    { name: "read later than ours: adopted", req: offer(2000), held, want: true },
    { name: "read earlier: kept ours", req: offer(500), held, want: false },
    { name: "read at the same time: kept ours", req: offer(1000), held, want: false },
    { name: "no offer", req: { configHash: routeHash(theirs) }, held, want: false },
    { name: "the config we hold", req: offer(2000, mine), held, want: false },
    { name: "hash not the route's", req: offer(2000, theirs, "deadbeef"), held, want: false },
    { name: "another route", req: offer(2000, routeConfig({ id: "other", weight: 50 })), held, want: false },
    { name: "invalid route", req: offer(2000, { ...theirs, weight: 150 }), held, want: false },
    { name: "nothing held, the stored state's config", req: offer(10), held: undefined, stateHash: routeHash(theirs), want: true },
    { name: "nothing held, another config than the stored state's", req: offer(10), held: undefined, stateHash: routeHash(mine), want: false },
    { name: "nothing held and no state", req: offer(10), held: undefined, want: true },
  ])("$name", ({ req, held: h, stateHash, want }) => {
    const got = acceptOffer(req, theirs.id, h, "0badd0c0", stateHash);
    expect(got !== undefined).toBe(want);
    if (got) expect(got).toMatchObject({ hash: req.configHash, config: "offer" in req ? req.offer.route : undefined, note: expect.stringContaining("adopted from an isolate: the KV document 0badd0c0 is invalid") });
  });
});
