// A bounded list of distinct identity hashes with an overflow count: how the evidence
// carries failing (or mismatching) users. Beyond `cap` an identity is only counted, each
// as a distinct one, so a count from the list is never below the truth by more than the
// overflow says. Shared by the live arms (evidence.ts) and the shadow arm.

/** Adds `id` to `ids` unless it is there; false when the list is full (count it as overflow). */
export function addIdentity(ids: number[], id: number, cap: number): boolean {
  if (ids.includes(id)) return true;
  if (ids.length >= cap) return false;
  ids.push(id);
  return true;
}

/** The union of two lists (a's order first) and their overflows, at most `cap` kept. Pure. */
export function mergeIdentities(aIds: readonly number[] | undefined, aOverflow: number, bIds: readonly number[] | undefined, bOverflow: number, cap: number): { ids: number[]; overflow: number } {
  let overflow = aOverflow + bOverflow;
  const ids = aIds ? [...aIds] : [];
  if (bIds) {
    const seen = new Set(ids);
    for (const id of bIds) {
      if (seen.has(id)) continue;
      if (ids.length < cap) {
        ids.push(id);
        seen.add(id);
      } else overflow++;
    }
  }
  return { ids, overflow };
}
