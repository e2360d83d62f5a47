// The DNS half of the link-local/metadata check, for `validate` and `push` only: the
// Worker cannot resolve names (and must not slow a config load on DNS), so it checks
// literal addresses and known metadata names; here every origin and webhook hostname is
// also resolved and each answer checked. A name that does not resolve, or not within
// the timeout, passes: this catches what it can see from where the CLI runs.
import { isIP } from "node:net";
import { blockedAddressReason } from "../../src/core/config/origin-url.js";
import type { Config } from "../../src/core/config/schema.js";

/** Addresses of a hostname (node:dns/promises `lookup(host, { all: true })` fits). */
export type HostLookup = (hostname: string) => Promise<string[]>;

/** Per-name time limit, in ms. */
export const LOOKUP_TIMEOUT_MS = 3000;

export interface ResolvedProblem {
  path: Array<string | number>;
  message: string;
}

/** Every URL field a config sends traffic to, with its path. */
export function urlFields(config: Config): Array<{ path: Array<string | number>; url: string }> {
  const out: Array<{ path: Array<string | number>; url: string }> = [];
  config.routes.forEach((route, i) => {
    out.push({ path: ["routes", i, "stable", "origin"], url: route.stable.origin });
    out.push({ path: ["routes", i, "canary", "origin"], url: route.canary.origin });
  });
  if (config.notify.webhook !== undefined) out.push({ path: ["notify", "webhook"], url: config.notify.webhook });
  return out;
}

/** Problems of hostnames that resolve to a link-local or metadata address. */
export async function resolveBlockedOrigins(config: Config, lookup: HostLookup, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<ResolvedProblem[]> {
  const fields = urlFields(config);
  const names = [...new Set(fields.map((f) => new URL(f.url).hostname).filter((h) => !h.startsWith("[") && isIP(h) === 0))];
  const answers = new Map<string, string[]>();
  await Promise.all(
    names.map(async (name) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), timeoutMs)));
      try {
        answers.set(name, await Promise.race([lookup(name), timeout]));
      } catch {
        answers.set(name, []);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const problems: ResolvedProblem[] = [];
  for (const field of fields) {
    const name = new URL(field.url).hostname;
    for (const address of answers.get(name) ?? []) {
      const reason = blockedAddressReason(address);
      if (reason) {
        problems.push({ path: field.path, message: `must not point at ${reason}: ${name} resolves to it` });
        break;
      }
    }
  }
  return problems;
}
