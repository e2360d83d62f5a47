// Turns traffic numbers into terminal text: the live progress line while a window runs
// and the report printed when it ends. Formatting only; the checks live in the phases.
import { num, pct, type Printer } from "./print.js";
import { summarize, type LiveSnapshot, type WindowStats } from "./traffic.js";

/** Segments in order of importance: a narrow terminal shows the leading ones. */
export function liveLine(p: Printer, snap: LiveSnapshot): string[] {
  const s = snap.stats;
  const total = s.cohortRequests.stable + s.cohortRequests.canary;
  const share = total > 0 ? s.cohortRequests.canary / total : 0;
  const rps = snap.elapsedMs > 0 ? Math.round((s.requests * 1000) / snap.elapsedMs) : 0;
  const clock = `${(snap.elapsedMs / 1000).toFixed(1).padStart(4)}/${Math.round(snap.durationMs / 1000)}s`;
  const failed = s.failed > 0 ? p.c.red(`failed ${num(s.failed)}`) : `failed 0`;
  const fallbacks = s.fallbacks > 0 ? p.c.magenta(`fallbacks ${num(s.fallbacks)}`) : "fallbacks 0";
  return [
    `    ${p.c.dim(clock)}`,
    ` ${p.splitBar(share, 12)}`,
    ` canary ${pct(share).padStart(5)} (target ${s.weight}%)`,
    `  ${failed}`,
    `  ${fallbacks}`,
    `  ${num(s.requests)} req ${rps}/s`,
    `  served: stable ${num(s.served.stable)} canary ${num(s.served.canary)}`,
  ];
}

export function printWindow(p: Printer, s: WindowStats): void {
  const m = summarize(s);
  const c = p.c;
  const rows: Array<[string, string]> = [
    ["requests", `${num(s.requests)} in ${(s.ms / 1000).toFixed(1)} s (${Math.round(m.rps)} req/s, p50 ${m.p50.toFixed(0)} ms, p95 ${m.p95.toFixed(0)} ms)`],
    ["served by", `stable ${c.green(num(s.served.stable))}   canary ${c.yellow(num(s.served.canary))}`],
    [
      "split",
      `${p.splitBar(m.canaryUserShare, 30)}  canary users ${m.canaryUsers}/${m.usersSeen} = ${c.bold(pct(m.canaryUserShare))}` +
        ` (configured ${s.weight}%), canary requests ${pct(m.canaryRequestShare)}`,
    ],
    [
      "stickiness",
      `${m.sticky}/${m.returning} returning users saw one variant every time = ${c.bold(pct(m.stickiness))}`,
    ],
    ["cookies minted", `${num(s.minted)}`],
    ["fallbacks", s.fallbacks > 0 ? c.magenta(num(s.fallbacks)) : "0"],
    ["failed", s.failed > 0 ? c.red(`${num(s.failed)}  ${[...s.failures].map(([k, n]) => `${k} x${n}`).join(", ")}`) : "0"],
  ];
  if (m.comparedWithBefore > 0) {
    rows.push([
      "moved",
      `stable->canary ${c.yellow(String(m.movedToCanary))}, canary->stable ${m.movedToStable}` +
        ` (of ${m.comparedWithBefore} users seen before)`,
    ]);
  }
  if (s.mismatches > 0) rows.push(["page mismatch", c.red(`${s.mismatches} pages named another version than x-canary-variant`)]);
  p.table(rows);
}
