import { buildCells, simulateRun } from "./decision-sim.js";
import { GuardrailsSchema } from "../../src/core/stats/guardrails.js";
const ids = process.argv.slice(2);
const n = 3000;
for (const cell of buildCells(n, n).filter((c) => ids.some((id) => c.id.startsWith(id)))) {
  const g = GuardrailsSchema.parse(cell.guardrails ?? {});
  const hits: string[] = [];
  for (let run = 0; run < n; run++) { const o = simulateRun(cell, run, g); if (o.at.engine !== null) hits.push(`${run}@${o.at.engine}:${o.cause}`); }
  console.log(cell.id, hits.length, "/", n, hits.join(" "));
}
