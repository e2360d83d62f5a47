// The JSON a webhook receives for a rollout decision. `text` is what Slack-compatible
// receivers (Slack, Mattermost, Discord's /slack endpoint, Rocket.Chat) display;
// `edge_canary` carries the structured decision for anything else.
export interface DecisionRecord {
  route: string;
  release: string;
  event: string;
  actor: string;
  fromPhase: string | null;
  toPhase: string;
  epoch: number;
  /** Step number from 1 (steps.weights[step - 1]); 1 in manual mode. */
  step: number;
  weight: number;
  /** The stage the rollout is in, as plan.ts labels it ("shadow 10%", "5%"); absent in records made before stage kinds. */
  stage?: string;
  reason: string;
  at: number;
}

const ICON: Record<string, string> = {
  rolled_back: ":rotating_light:",
  promoted: ":white_check_mark:",
  paused: ":double_vertical_bar:",
  progressing: ":arrow_forward:",
  idle: ":zzz:",
};

export interface WebhookMessage {
  text: string;
  edge_canary: DecisionRecord & { version: 1 };
}

export function webhookMessage(d: DecisionRecord): WebhookMessage {
  const what =
    d.event === "config" && d.fromPhase === null
      ? `new rollout of ${d.release}`
      : `${d.event}${d.fromPhase && d.fromPhase !== d.toPhase ? ` (${d.fromPhase} -> ${d.toPhase})` : ""}`;
  const text = `${ICON[d.toPhase] ?? ""} edge-canary ${d.route} ${d.release}: ${what}, ${exposure(d)} by ${d.actor}: ${d.reason}`.trim();
  return { text, edge_canary: { version: 1, ...d } };
}

/** "canary at 5%", or for a shadow stage "shadow 10% (users on stable)". */
function exposure(d: DecisionRecord): string {
  return d.stage?.startsWith("shadow") && d.weight === 0 ? `${d.stage} (users on stable)` : `canary at ${d.weight}%`;
}

/** Delay before attempt n+1 after n failed attempts: 1 s, 2 s, 4 s ... capped at 60 s. */
export const retryDelayMs = (failedAttempts: number): number => Math.min(60_000, 1000 * 2 ** Math.max(0, failedAttempts - 1));
