// Duplicate keys in the config document. JSON.parse keeps the last of them without a
// word, so an edit that adds `"weight": 50` below an older `"weight": 5` silently wins
// or loses depending on order. The Worker logs these as warnings (the document still
// parses as it always did); `canary validate` reports them as errors with line:col.
import { indexJson, type DuplicateKey } from "./json-index.js";

export type { DuplicateKey } from "./json-index.js";

/** Every repeated key of every object, in document order; [] for text that is not JSON. */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  try {
    return indexJson(text).duplicates;
  } catch {
    return [];
  }
}
