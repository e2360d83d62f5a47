// Fans one outcome out to several sinks (Analytics Engine, coordinator evidence), a
// request's, a shadow comparison's and a metric event's alike; one failing sink never
// stops the others.
import type { MetricEvent, MetricSink } from "../core/metrics/metric-event.js";
import type { Outcome, OutcomeSink } from "../core/outcome.js";
import type { ShadowOutcome, ShadowSink } from "../core/shadow/shadow-outcome.js";

/** A sink of the composite: metric events are optional (a sink without recordMetric skips them). */
type Member = OutcomeSink & ShadowSink & Partial<MetricSink>;

export class CompositeSink implements OutcomeSink, ShadowSink, MetricSink {
  constructor(private readonly sinks: Member[]) {}

  record(outcome: Outcome): void | Promise<void> {
    return this.each("outcome sink failed", (sink) => sink.record(outcome));
  }

  recordShadow(outcome: ShadowOutcome): void | Promise<void> {
    return this.each("shadow sink failed", (sink) => sink.recordShadow(outcome));
  }

  recordMetric(event: MetricEvent): void | Promise<void> {
    return this.each("metric sink failed", (sink) => sink.recordMetric?.(event));
  }

  /** Runs `fn` on every sink; the promises some return, as one (none: no promise, the common case). */
  private each(failed: string, fn: (sink: Member) => void | Promise<void>): void | Promise<void> {
    let pending: Promise<void>[] | undefined;
    for (const sink of this.sinks) {
      try {
        const p = fn(sink);
        if (p) (pending ??= []).push(p.catch((e: Error) => console.error(JSON.stringify({ level: "warn", msg: failed, error: e.message }))));
      } catch (e) {
        console.error(JSON.stringify({ level: "warn", msg: failed, error: (e as Error).message }));
      }
    }
    if (pending) return Promise.all(pending).then(() => undefined);
  }
}
