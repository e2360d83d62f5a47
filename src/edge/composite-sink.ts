// Fans one outcome out to several sinks (Analytics Engine, coordinator evidence), a
// request's and a shadow comparison's alike; one failing sink never stops the others.
import type { Outcome, OutcomeSink } from "../core/outcome.js";
import type { ShadowOutcome, ShadowSink } from "../core/shadow/shadow-outcome.js";

export class CompositeSink implements OutcomeSink, ShadowSink {
  constructor(private readonly sinks: Array<OutcomeSink & ShadowSink>) {}

  record(outcome: Outcome): void {
    for (const sink of this.sinks) {
      try {
        sink.record(outcome);
      } catch (e) {
        console.error(JSON.stringify({ level: "warn", msg: "outcome sink failed", error: (e as Error).message }));
      }
    }
  }

  recordShadow(outcome: ShadowOutcome): void {
    for (const sink of this.sinks) {
      try {
        sink.recordShadow(outcome);
      } catch (e) {
        console.error(JSON.stringify({ level: "warn", msg: "shadow sink failed", error: (e as Error).message }));
      }
    }
  }
}
