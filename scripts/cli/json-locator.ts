// Finds where a value sits in JSON source text, so `validate` can say
// `config.json:14:17 routes[0].weight must be between 0 and 100`. A small recursive-
// descent scanner records the offset of every key and value; JSON.parse stays the
// authority on the value itself. A path that does not exist (a missing required field)
// resolves to the deepest object that does, marked inexact. Columns count UTF-16 code
// units, as editors that speak the LSP do.

export interface SourcePosition {
  line: number;
  column: number;
  /** False when the path itself is absent and this is its nearest existing parent. */
  exact: boolean;
}

interface JsonNode {
  start: number;
  members?: Map<string, { keyStart: number; value: JsonNode }>;
  items?: JsonNode[];
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

class Scanner {
  private i = 0;
  constructor(private readonly text: string) {
    if (text.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  document(): JsonNode {
    const node = this.value();
    this.ws();
    if (this.i < this.text.length) this.fail("unexpected content after the JSON value");
    return node;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.i);
  }

  private ws(): void {
    while (this.i < this.text.length && " \t\n\r".includes(this.text[this.i]!)) this.i++;
  }

  private value(): JsonNode {
    this.ws();
    const start = this.i;
    const c = this.text[this.i];
    if (c === "{") return this.object(start);
    if (c === "[") return this.array(start);
    if (c === '"') {
      this.string();
      return { start };
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.i, this.i + 400));
    if (!m) this.fail(c === undefined ? "unexpected end of input" : `unexpected character ${JSON.stringify(c)}`);
    this.i += m[0].length;
    return { start };
  }

  private string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === "\\") this.i += 2;
      else if (c === '"') {
        this.i++;
        try {
          return JSON.parse(this.text.slice(start, this.i)) as string;
        } catch {
          this.i = start;
          this.fail("invalid string");
        }
      } else if (c < " ") this.fail("control character in string");
      else this.i++;
    }
    this.i = start;
    return this.fail("unterminated string");
  }

  private object(start: number): JsonNode {
    const members = new Map<string, { keyStart: number; value: JsonNode }>();
    this.i++;
    this.ws();
    if (this.text[this.i] === "}") {
      this.i++;
      return { start, members };
    }
    for (;;) {
      this.ws();
      const keyStart = this.i;
      if (this.text[this.i] !== '"') this.fail("expected a property name in double quotes");
      const key = this.string();
      this.ws();
      if (this.text[this.i] !== ":") this.fail("expected ':' after a property name");
      this.i++;
      // Like JSON.parse, the last duplicate wins.
      members.set(key, { keyStart, value: this.value() });
      this.ws();
      const c = this.text[this.i];
      this.i++;
      if (c === "}") return { start, members };
      if (c !== ",") {
        this.i--;
        this.fail("expected ',' or '}' after a property value");
      }
    }
  }

  private array(start: number): JsonNode {
    const items: JsonNode[] = [];
    this.i++;
    this.ws();
    if (this.text[this.i] === "]") {
      this.i++;
      return { start, items };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.text[this.i];
      this.i++;
      if (c === "]") return { start, items };
      if (c !== ",") {
        this.i--;
        this.fail("expected ',' or ']' after an array item");
      }
    }
  }
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

  constructor(private readonly text: string) {
    this.root = new Scanner(text).document();
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
