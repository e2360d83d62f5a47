// The core's iterative JSON scanner: key and value offsets for the CLI's locator, and
// duplicate keys (paths and offsets) for the Worker's warning and `validate`'s errors.
import { describe, expect, it } from "vitest";
import { findDuplicateKeys } from "../../src/core/config/json-duplicates.js";
import { indexJson, JsonSyntaxError } from "../../src/core/config/json-index.js";

describe("findDuplicateKeys", () => {
  it.each([
    ["no duplicates", '{"a": 1, "b": {"a": 2}}', []],
    ["a top-level repeat", '{"a": 1, "a": 2}', [{ path: ["a"], offset: 9, firstOffset: 1 }]],
    ["a triple repeat, one entry per repeat", '{"a":1,"a":2,"a":3}', [{ path: ["a"], offset: 7, firstOffset: 1 }, { path: ["a"], offset: 13, firstOffset: 7 }]],
    ["a repeat inside an array item", '{"r": [{}, {"w": 1, "w": 2}]}', [{ path: ["r", 1, "w"], offset: 20, firstOffset: 12 }]],
    ["a repeat after a nested container", '{"a": {"x": [1, {"y": 1}]}, "a": 0}', [{ path: ["a"], offset: 28, firstOffset: 1 }]],
    ["keys equal after unescaping", '{"de": 1, "d\\u0065": 2}', [{ path: ["de"], offset: 10, firstOffset: 1 }]],
    ["the same key in sibling objects (not a duplicate)", '[{"a": 1}, {"a": 2}]', []],
    ["text that is not JSON", '{"a": 1, "a": ', []],
  ] as const)("%s", (_name, text, expected) => {
    expect(findDuplicateKeys(text)).toEqual(expected);
  });
});

describe("indexJson", () => {
  it("indexes 100,000 levels of nesting without recursion", () => {
    const depth = 100_000;
    const text = `{"deep": ${"[".repeat(depth)}{"k": 1, "k": 2}${"]".repeat(depth)}}`;
    const { root, duplicates } = indexJson(text);
    expect(root.members?.get("deep")?.value.items).toHaveLength(1);
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]!.path).toHaveLength(depth + 2);
  });

  it.each([
    ['{"a": [1, 2,, 3]}', 12, 'unexpected character ","'],
    ['{"a" 1}', 5, "expected ':' after a property name"],
    ['{"a": 1 "b": 2}', 8, "expected ',' or '}' after a property value"],
    ["[1 2]", 3, "expected ',' or ']' after an array item"],
    ["{a: 1}", 1, "expected a property name in double quotes"],
    ['"abc', 0, "unterminated string"],
    ["[1] x", 4, "unexpected content after the JSON value"],
    ["", 0, "unexpected end of input"],
    ["[".repeat(50_000), 50_000, "unexpected end of input"],
  ])("%j fails at offset %i: %s", (text, offset, message) => {
    let error: unknown;
    try {
      indexJson(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JsonSyntaxError);
    expect(error).toMatchObject({ offset, message });
  });

  it("skips a byte order mark", () => {
    expect(indexJson('\ufeff{"a": 1}').root.members?.get("a")?.keyStart).toBe(2);
  });
});
