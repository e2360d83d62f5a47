// The soak's heap snapshot summary and diff (scripts/bench/heap-diff.ts) on a tiny
// synthetic .heapsnapshot: groups by constructor, growth order, retained sizes.
import { describe, expect, it } from "vitest";
import { diff, diffTable, summarise, type HeapSnapshot } from "../../scripts/bench/heap-diff.js";

const NODE_TYPES = ["hidden", "object", "string", "closure", "synthetic"];
const EDGE_TYPES = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"];

/** nodes: [type, name, selfSize]; edges per node: [type, name, to (node index)]. */
function snapshot(nodes: Array<[string, string, number, Array<[string, string, number]>]>): HeapSnapshot {
  const strings: string[] = [];
  const str = (s: string) => (strings.includes(s) ? strings.indexOf(s) : strings.push(s) - 1);
  const flatNodes: number[] = [];
  const flatEdges: number[] = [];
  nodes.forEach(([type, name, self, edges], id) => {
    flatNodes.push(NODE_TYPES.indexOf(type), str(name), id + 1, self, edges.length);
    for (const [et, en, to] of edges) flatEdges.push(EDGE_TYPES.indexOf(et), str(en), to * 5);
  });
  return {
    snapshot: {
      meta: {
        node_fields: ["type", "name", "id", "self_size", "edge_count"],
        node_types: [NODE_TYPES],
        edge_fields: ["type", "name_or_index", "to_node"],
        edge_types: [EDGE_TYPES],
      },
    },
    nodes: flatNodes,
    edges: flatEdges,
    strings,
  };
}

// root -> Holder -memo-> Map -> strings; root -> Other -weak-> the first string.
const before = snapshot([
  ["synthetic", "", 0, [["element", "1", 1], ["element", "2", 4]]],
  ["object", "Holder", 10, [["property", "memo", 2]]],
  ["object", "Map", 100, [["internal", "table", 3]]],
  ["string", "abc", 50, []],
  ["object", "Other", 5, [["weak", "w", 3]]],
]);
const after = snapshot([
  ["synthetic", "", 0, [["element", "1", 1], ["element", "2", 4]]],
  ["object", "Holder", 10, [["property", "memo", 2]]],
  ["object", "Map", 100, [["internal", "table", 3], ["internal", "table", 5], ["internal", "table", 6]]],
  ["string", "abc", 50, []],
  ["object", "Other", 5, [["weak", "w", 3]]],
  ["string", "def", 200, []],
  ["string", "ghi", 100, []],
]);

describe("heap snapshot summary and diff", () => {
  it("groups nodes by constructor for objects and by type for strings", () => {
    const s = summarise(after);
    expect(s.groups.get("Map [object]")).toEqual({ key: "Map [object]", count: 1, selfSize: 100 });
    expect(s.groups.get("(string)")).toEqual({ key: "(string)", count: 3, selfSize: 350 });
    expect(s.total).toBe(465);
  });

  it("ranks groups by self-size growth and leaves out the unchanged", () => {
    const d = diff(summarise(before), summarise(after));
    expect(d).toEqual([{ key: "(string)", countBefore: 1, countAfter: 3, selfBefore: 50, selfAfter: 350 }]);
  });

  it("retained size: what goes unreachable without a group or a property's values (weak edges do not retain)", () => {
    const want = ["Holder [object]", "Other [object]", { property: "memo" }];
    const a = summarise(before, want);
    const b = summarise(after, want);
    expect(Object.fromEntries(a.retained)).toEqual({ "Holder [object]": 160, "Other [object]": 5, ".memo": 150 });
    expect(Object.fromEntries(b.retained)).toEqual({ "Holder [object]": 460, "Other [object]": 5, ".memo": 450 });
    expect(diffTable(a, b).join("\n")).toContain("| .memo | 0.00 | 0.00 | 0.00 |");
  });
});
