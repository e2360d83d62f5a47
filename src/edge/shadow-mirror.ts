// Shadow mirroring: in a shadow stage a request of a mirrored user is sent a second time,
// to the canary, and the canary's answer is compared with stable's. The user never
// notices: stable serves them exactly as without shadow, the mirror leaves only after
// stable's response is on its way (ctx.waitUntil), nothing on the user's path waits for
// the canary, and every failure of the mirror is caught and becomes an outcome.
// Bounds, per isolate and per mirror: at most shadow.maxInFlight mirrors in flight
// (beyond: not mirrored); a request body is mirrored only with a
// known Content-Length <= maxBodyBytes (request.clone() tees it, so the copy is bounded);
// a response body is read at most maxBodyBytes deep (beyond: the outcome is `skipped`);
// the canary gets timeoutMs for its headers and as long again for its body. Stable's
// body is tee'd only when the body is compared, so status and header comparisons leave
// the user's bytes on the runtime's own path. Reading and comparing bodies: shadow-body.ts.
// Reference pairs: the user's stable request left before the mirror, under other isolate
// conditions (the response streaming, other requests' work), so its time is no fair partner
// for the mirror's. For a share shadow.latencyPairs of bodiless GET/HEAD mirrors (drawn from
// the isolate's random source, so no client can steer it) the same request also goes to
// stable, from the same waitUntil and in the same turn as the canary mirror (which of the two
// is dispatched first alternates), and only those two times are paired (shadow-evidence.ts).
// The reference's body is cancelled unread; it is bounded by stable's timeoutMs and takes a
// maxInFlight slot of its own. Never for another method: stable must not perform a write twice.
import type { RouteConfig } from "../core/config/schema.js";
import { compareHeaders, compareStatus, type BodyDigest } from "../core/shadow/compare.js";
import { compareJsonBodies } from "../core/shadow/json-compare.js";
import type { MismatchPart, ShadowOutcome, ShadowOutcomeKind, ShadowSink } from "../core/shadow/shadow-outcome.js";
import { isErrorOutcome } from "../core/stats/guardrails.js";
import { fetchOrigin, type OriginResult } from "./fetch-origin.js";
import { buildOriginRequest } from "./origin-request.js";
import { BodyRead, comparedBodies, lengthOf, type TextBody } from "./shadow-body.js";
import type { RequestTarget } from "./request-target.js";

/** The request header that tells the canary a request is a mirror (its answer is compared, never served). */
export const SHADOW_HEADER = "x-canary-shadow";

/** What a mirrored request knows about itself before stable answers. */
export interface MirrorContext {
  route: RouteConfig;
  method: string;
  url: RequestTarget;
  identity: string;
  colo: string;
  country: string;
}

export class ShadowMirror {
  private inFlight = 0;

  /** Which side of the next reference pair is dispatched first (alternates, so neither has the head start). */
  private referenceFirst = false;

  /** `random` is uniform in [0, 1), from the Worker's random seam (never Math.random at global scope). */
  constructor(
    private readonly now: () => number,
    private readonly random: () => number = () => 0.5,
  ) {}

  /**
   * Called before the stable fetch: a Mirror when this request is mirrored, else
   * undefined. A request body is tee'd here (request.clone()), so the stable fetch
   * reads its own branch. The caller must end every Mirror it got, with run or release.
   */
  prepare(request: Request, ctx: MirrorContext): Mirror | undefined {
    const s = ctx.route.shadow;
    if (!s.methods.includes(ctx.method)) return undefined;
    // A WebSocket upgrade is a socket, not an answer to compare.
    if (request.headers.has("upgrade")) return undefined;
    if (request.body !== null) {
      const length = lengthOf(request.headers);
      if (length === undefined || length > s.maxBodyBytes) return undefined;
    }
    if (this.inFlight >= s.maxInFlight) return undefined;
    this.inFlight++;
    // A reference pair needs a second slot; without one the mirror goes alone (untimed).
    const reference =
      s.latencyPairs > 0 && (ctx.method === "GET" || ctx.method === "HEAD") && request.body === null && this.inFlight < s.maxInFlight && this.random() < s.latencyPairs;
    let first = false;
    if (reference) {
      this.inFlight++;
      this.referenceFirst = !this.referenceFirst;
      first = this.referenceFirst;
    }
    const body = request.body === null ? null : request.clone().body;
    return new Mirror(this, request, ctx, body, this.now, reference ? { first } : undefined);
  }

  /** @internal A Mirror's end: its slots (2 with a reference request). */
  done(slots: number): void {
    this.inFlight -= slots;
  }
}

export class Mirror {
  private stableBody: ReadableStream<Uint8Array> | undefined;
  /** Stable's Content-Length when it was given (and fits maxBodyBytes). */
  private stableLength: number | undefined;
  private ended = false;

  constructor(
    private readonly owner: ShadowMirror,
    private readonly request: Request,
    private readonly ctx: MirrorContext,
    private body: ReadableStream<Uint8Array> | null,
    private readonly now: () => number,
    /** Set when a stable reference request goes with the mirror; `first`: it is dispatched before the canary's. */
    private readonly reference?: { first: boolean },
  ) {}

  /** The reference request's result, once it was sent. */
  private referenceResult: Promise<OriginResult> | undefined;

  private get slots(): number {
    return this.reference ? 2 : 1;
  }

  /**
   * Stable's response as the user gets it. When the body is compared and may fit
   * maxBodyBytes, it is tee'd: one branch to the user, one kept for the comparison; the
   * status and headers are stable's own. Otherwise the response is handed back as it is.
   */
  split(response: Response): Response {
    const s = this.ctx.route.shadow;
    if ((s.compare !== "body" && s.compare !== "json") || response.body === null || this.ctx.method === "HEAD") return response;
    const length = lengthOf(response.headers);
    if (length !== undefined && length > s.maxBodyBytes) return response;
    this.stableLength = length;
    const [user, kept] = response.body.tee();
    this.stableBody = kept;
    return new Response(user, response);
  }

  /** Not mirrored after all (the client failed its upload): frees the slot and the body copy. */
  release(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.done(this.slots);
    this.body?.cancel().catch(() => {});
    this.stableBody?.cancel().catch(() => {});
  }

  /** Sends the mirror and records its outcome; never rejects. For ctx.waitUntil. */
  async run(stable: OriginResult, sink: ShadowSink): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // The sink's trailing sync (the last outcomes of a burst) is awaited after the slot is
    // freed: it can take a sync interval, and is not a mirror in flight.
    let trailing: void | Promise<void> = undefined;
    try {
      // One timer turn: the user's response is handed to the runtime before the mirror
      // takes any of the isolate's time or connections.
      await new Promise((r) => setTimeout(r, 0));
      let outcome = await this.compare(stable);
      if (this.referenceResult) {
        const ref = await this.referenceResult;
        outcome = { ...outcome, reference: { status: ref.status, ms: ref.originMs } };
      }
      try {
        trailing = sink.recordShadow(outcome);
      } catch (e) {
        sinkFailed(e);
      }
    } catch (e) {
      // A fault in the comparison itself: logged, never the user's problem.
      console.error(JSON.stringify({ level: "warn", msg: "shadow mirror failed", route: this.ctx.route.id, error: (e as Error).message }));
    } finally {
      this.stableBody?.cancel().catch(() => {});
      // The reference is bounded by stable's timeoutMs: its slot is held until it ends.
      if (this.referenceResult) await this.referenceResult.catch(() => {});
      this.owner.done(this.slots);
    }
    if (trailing) await trailing.catch(sinkFailed);
  }

  private async compare(stable: OriginResult): Promise<ShadowOutcome> {
    const { route, method, url } = this.ctx;
    const s = route.shadow;
    const timeoutMs = route.canary.timeoutMs;
    // Stable's kept branch is read from now, while the canary is asked: the tee then
    // holds little, and the user's branch never waits for ours.
    const stableRead = this.stableBody ? new BodyRead(this.stableBody, this.stableLength, s.maxBodyBytes, s.compare === "body", route.stable.timeoutMs) : undefined;
    this.stableBody = undefined;
    // The request body's copy is read whole: it is at most maxBodyBytes (its Content-Length
    // was checked), the tee holds it anyway, and as bytes it goes out with its length
    // (workerd cannot pipe a tee branch into a FixedLengthStream).
    const copy = this.body;
    this.body = null;
    const body = copy === null ? null : await new Response(copy).arrayBuffer();
    // fetchOrigin dispatches its fetch before its first await: both requests leave in this
    // turn, back to back, and are timed the same way.
    const askCanary = (): Promise<OriginResult> =>
      fetchOrigin(
        (signal) => {
          const req = buildOriginRequest(this.request, method, url, route.canary, "canary", route.release, route.override.header, signal, body, route.override.cookie);
          req.headers.set(SHADOW_HEADER, "1");
          return req;
        },
        timeoutMs,
        [],
        this.now,
      );
    let pending: Promise<OriginResult>;
    if (this.reference?.first) {
      this.referenceResult = this.askReference();
      pending = askCanary();
    } else {
      pending = askCanary();
      if (this.reference) this.referenceResult = this.askReference();
    }
    const canary = await pending;
    const base = this.outcomeBase(stable, canary);
    let canaryRead: BodyRead | undefined;
    // Whatever is decided, neither body is read any further.
    const result = (kind: ShadowOutcomeKind, part?: MismatchPart, detail?: string): ShadowOutcome => {
      if (canaryRead) canaryRead.cancel();
      else canary.response?.body?.cancel().catch(() => {});
      stableRead?.cancel();
      return part === undefined ? { ...base, kind } : { ...base, kind, part, detail };
    };
    if (canary.errorKind === "timeout") return result("canary_timeout");
    if (canary.errorKind !== "none" || !canary.response) return result("canary_error");
    if (isErrorOutcome(route.guardrails, canary.status)) return result("canary_error");
    const statusDiff = compareStatus(stable.status, canary.status);
    if (statusDiff !== undefined) return result("mismatch", "status", statusDiff);
    const stableResponse = stable.response;
    if (s.compare !== "status" && stableResponse) {
      const headerDiff = compareHeaders(s.headers, (n) => stableResponse.headers.get(n), (n) => canary.response!.headers.get(n));
      if (headerDiff !== undefined) return result("mismatch", "headers", headerDiff);
    }
    if (s.compare === "status" || s.compare === "headers") return result("match");
    if (method === "HEAD") return result("match");
    // Body or JSON: both bodies, each at most maxBodyBytes deep.
    const canaryLength = lengthOf(canary.response.headers);
    if (!stableRead || (canaryLength !== undefined && canaryLength > s.maxBodyBytes)) return result("skipped");
    canaryRead = new BodyRead(canary.response.body, canaryLength, s.maxBodyBytes, s.compare === "body", timeoutMs);
    const [a, b] = await Promise.all([stableRead.result, canaryRead.result]);
    if (b === "timeout") return result("canary_timeout");
    if (b === "error") return result("canary_error");
    if (a === "oversize" || b === "oversize" || a === "timeout" || a === "error") return result("skipped");
    const detail =
      s.compare === "body"
        ? await comparedBodies(a as BodyDigest, b as BodyDigest)
        : compareJsonBodies((a as TextBody).text, (b as TextBody).text, { ignore: s.ignore, numericTolerance: s.numericTolerance });
    return detail === undefined ? result("match") : result("mismatch", s.compare, detail);
  }

  /** The stable reference request: bodiless GET/HEAD, marked a mirror, its body cancelled unread (only its status and time matter). */
  private askReference(): Promise<OriginResult> {
    const { route, method, url } = this.ctx;
    return fetchOrigin(
      (signal) => {
        const req = buildOriginRequest(this.request, method, url, route.stable, "stable", route.release, route.override.header, signal, null, route.override.cookie);
        req.headers.set(SHADOW_HEADER, "1");
        return req;
      },
      route.stable.timeoutMs,
      [],
      this.now,
    ).then((r) => {
      r.response?.body?.cancel().catch(() => {});
      return { status: r.status, originMs: r.originMs, errorKind: r.errorKind };
    });
  }

  private outcomeBase(stable: OriginResult, canary: OriginResult): Omit<ShadowOutcome, "kind"> {
    const { route, method, url } = this.ctx;
    return {
      routeId: route.id,
      release: route.release,
      method,
      // RequestTarget.pathname never has the query (which may carry tokens).
      path: url.pathname,
      stableStatus: stable.status,
      canaryStatus: canary.status,
      stableMs: stable.originMs,
      canaryMs: canary.originMs,
      colo: this.ctx.colo,
      country: this.ctx.country,
      identity: this.ctx.identity,
    };
  }
}

function sinkFailed(e: unknown): void {
  console.error(JSON.stringify({ level: "warn", msg: "shadow sink failed", error: (e as Error).message }));
}
