// Which outcomes count as errors in the rollout's evidence, per the route's guardrails
// (by default: any 5xx, a network failure or a timeout). A configured fallback status
// is always an error: the canary failed even though stable then served the user.
import { NOT_EVIDENCE, type Outcome } from "./outcome.js";
import { isErrorOutcome, type Guardrails } from "./stats/guardrails.js";

export function countsAsError(o: Outcome, g: Guardrails): boolean {
  if (NOT_EVIDENCE.has(o.errorKind)) return false;
  if (o.errorKind === "status") return true;
  if (o.errorKind === "network" || o.errorKind === "timeout") return isErrorOutcome(g, o.errorKind);
  return isErrorOutcome(g, o.status);
}
