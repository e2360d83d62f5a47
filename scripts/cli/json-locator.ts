// Finds where a value sits in JSON source text, so `validate` can say
// `config.json:14:17 routes[0].weight must be between 0 and 100`. The core's
// iterative scanner (src/core/config/json-index.ts) records the offset of every key and
// value, and every duplicate key; JSON.parse stays the authority on the value itself.
// A path that does not exist (a missing required field) resolves to the deepest object
// that does, marked inexact. Columns count UTF-16 code units, as editors that speak the
// LSP do.
import { indexJson, type DuplicateKey, type JsonNode } from "../../src/core/config/json-index.js";

export { JsonSyntaxError } from "../../src/core/config/json-index.js";

export interface SourcePosition {
  line: number;
  column: number;
  /** False when the path itself is absent and this is its nearest existing parent. */
  exact: boolean;
}

/** Line and column (both 1-based) of an offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Indexes a JSON text once; `locate` then answers per path. Throws JsonSyntaxError. */
export class JsonLocator {
  private readonly root: JsonNode;
  /** Keys repeated within one object, in document order. */
  readonly duplicates: DuplicateKey[];

  constructor(private readonly text: string) {
    ({ root: this.root, duplicates: this.duplicates } = indexJson(text));
  }

  /**
   * Where `path` is: the key of an object member (that is what an editor should jump
   * to), an array item's first character, or the nearest existing parent.
   */
  locate(path: ReadonlyArray<PropertyKey>): SourcePosition {
    let node = this.root;
    let at = node.start;
    for (const key of path) {
      if (typeof key === "number" && node.items) {
        const item = node.items[key];
        if (!item) return { ...positionOf(this.text, at), exact: false };
        node = item;
        at = item.start;
      } else if (typeof key === "string" && node.members) {
        const member = node.members.get(key);
        if (!member) return { ...positionOf(this.text, at), exact: false };
        node = member.value;
        at = member.keyStart;
      } else {
        return { ...positionOf(this.text, at), exact: false };
      }
    }
    return { ...positionOf(this.text, at), exact: true };
  }
}
