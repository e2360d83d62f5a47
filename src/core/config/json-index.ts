// One pass over JSON text that records where every key and value starts, and every
// key that repeats within its object (JSON.parse silently keeps the last one). An
// explicit stack instead of recursion, so depth is bounded by memory, not by the call
// stack: JSON.parse accepts 100,000 nested arrays and so must this. JSON.parse stays
// the authority on values; this only indexes positions. Offsets count UTF-16 code units.

export interface JsonNode {
  start: number;
  members?: Map<string, { keyStart: number; value: JsonNode }>;
  items?: JsonNode[];
}

/** A key that appears again in the same object: its path, and both key offsets. */
export interface DuplicateKey {
  path: Array<string | number>;
  offset: number;
  firstOffset: number;
}

export interface JsonIndex {
  root: JsonNode;
  duplicates: DuplicateKey[];
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

interface Frame {
  node: JsonNode;
  /** Key (or index) of the child being read, and where that key starts. */
  key: string | number;
  keyStart: number;
}

const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Indexes a JSON text. Throws JsonSyntaxError with the offset of the first error. */
export function indexJson(text: string): JsonIndex {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: Frame[] = [];
  const duplicates: DuplicateKey[] = [];
  let root: JsonNode | undefined;

  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, i);
  };
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else return;
    }
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 92 /* \ */) i += 2;
      else if (c === 34 /* " */) {
        i++;
        try {
          return JSON.parse(text.slice(start, i)) as string;
        } catch {
          i = start;
          return fail("invalid string");
        }
      } else if (c < 32) return fail("control character in string");
      else i++;
    }
    i = start;
    return fail("unterminated string");
  };
  /** Reads `"key":` into the object frame on top. */
  const key = (frame: Frame): void => {
    ws();
    frame.keyStart = i;
    if (text[i] !== '"') fail("expected a property name in double quotes");
    frame.key = string();
    ws();
    if (text[i] !== ":") fail("expected ':' after a property name");
    i++;
  };
  const attach = (node: JsonNode): void => {
    const parent = stack[stack.length - 1];
    if (!parent) {
      root = node;
    } else if (parent.node.items) {
      parent.node.items.push(node);
    } else {
      const members = parent.node.members!;
      const name = parent.key as string;
      const first = members.get(name);
      if (first) duplicates.push({ path: [...stack.map((f) => f.key)], offset: parent.keyStart, firstOffset: first.keyStart });
      members.set(name, { keyStart: parent.keyStart, value: node });
    }
  };

  for (;;) {
    // A value starts here.
    ws();
    const start = i;
    const c = text[i];
    if (c === "{" || c === "[") {
      i++;
      const node: JsonNode = c === "{" ? { start, members: new Map() } : { start, items: [] };
      attach(node);
      ws();
      if (text[i] !== (c === "{" ? "}" : "]")) {
        const frame: Frame = { node, key: 0, keyStart: start };
        stack.push(frame);
        if (c === "{") key(frame);
        continue;
      }
      i++;
    } else {
      if (c === '"') string();
      else {
        LITERAL.lastIndex = i;
        const m = LITERAL.exec(text);
        if (!m) fail(c === undefined ? "unexpected end of input" : `unexpected character ${JSON.stringify(c)}`);
        i += m![0].length;
      }
      attach({ start });
    }
    // After a value: a separator continues the container on top, a bracket closes it.
    let next = false;
    while (!next) {
      const frame = stack[stack.length - 1];
      if (!frame) {
        ws();
        if (i < text.length) fail("unexpected content after the JSON value");
        return { root: root!, duplicates };
      }
      ws();
      const s = text[i];
      const isObject = frame.node.members !== undefined;
      if (s === ",") {
        i++;
        if (isObject) key(frame);
        else frame.key = (frame.key as number) + 1;
        next = true;
      } else if (s === (isObject ? "}" : "]")) {
        i++;
        stack.pop();
      } else {
        fail(isObject ? "expected ',' or '}' after a property value" : "expected ',' or ']' after an array item");
      }
    }
  }
}
