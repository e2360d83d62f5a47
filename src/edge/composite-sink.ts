// Fans one outcome out to several sinks (Analytics Engine, coordinator evidence); one
// failing sink never stops the others.
import type { Outcome, OutcomeSink } from "../core/outcome.js";

export class CompositeSink implements OutcomeSink {
  constructor(private readonly sinks: OutcomeSink[]) {}

  record(outcome: Outcome): void {
    for (const sink of this.sinks) {
      try {
        sink.record(outcome);
      } catch (e) {
        console.error(JSON.stringify({ level: "warn", msg: "outcome sink failed", error: (e as Error).message }));
      }
    }
  }
}
