// Summarises a V8 heap snapshot (.heapsnapshot JSON: nodes/edges/strings) by constructor
// and diffs two summaries: which kinds of object grew between two points of a soak.
// Self size per group (type + name, like DevTools' Summary view) and, for a few named
// groups, the size they retain: what would become unreachable from the root if every
// node of that group were gone (two reachability passes; weak edges ignored).

export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface Group {
  key: string;
  count: number;
  selfSize: number;
}

interface Graph {
  nodeCount: number;
  key: (i: number) => string;
  selfSize: Uint32Array;
  firstEdge: Uint32Array;
  edgeTo: Uint32Array;
  edgeWeak: Uint8Array;
  /** Property name of an edge (undefined for element/internal-index edges). */
  edgeName: (e: number) => string | undefined;
}

function graph(s: HeapSnapshot): Graph {
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const [fType, fName, fSelf, fEdges] = ["type", "name", "self_size", "edge_count"].map((f) => nf.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f)) as [number, number, number];
  const property = edgeTypes.indexOf("property");
  const weak = edgeTypes.indexOf("weak");
  const nodeCount = s.nodes.length / N;
  const selfSize = new Uint32Array(nodeCount);
  const firstEdge = new Uint32Array(nodeCount + 1);
  let edge = 0;
  for (let i = 0; i < nodeCount; i++) {
    selfSize[i] = s.nodes[i * N + fSelf]!;
    firstEdge[i] = edge;
    edge += s.nodes[i * N + fEdges]!;
  }
  firstEdge[nodeCount] = edge;
  const edgeTo = new Uint32Array(edge);
  const edgeWeak = new Uint8Array(edge);
  for (let j = 0; j < edge; j++) {
    edgeTo[j] = s.edges[j * E + eTo]! / N;
    edgeWeak[j] = s.edges[j * E + eType] === weak ? 1 : 0;
  }
  const key = (i: number): string => {
    const type = nodeTypes[s.nodes[i * N + fType]!]!;
    const name = s.strings[s.nodes[i * N + fName]!]!;
    // Objects and closures by constructor / function name; strings etc. by type alone.
    if (type === "object" || type === "closure" || type === "native") return `${name.split(" ")[0] || "(anonymous)"} [${type}]`;
    if (type === "array" || type === "hidden" || type === "object shape") return `${name} [${type}]`;
    return `(${type})`;
  };
  const edgeName = (e: number): string | undefined => (s.edges[e * E + eType] === property ? s.strings[s.edges[e * E + eName]!] : undefined);
  return { nodeCount, key, selfSize, firstEdge, edgeTo, edgeWeak, edgeName };
}

/** Self size reachable from the root (node 0), skipping nodes for which `skip` is true. */
function reachable(g: Graph, skip: (i: number) => boolean): number {
  const seen = new Uint8Array(g.nodeCount);
  const stack = [0];
  seen[0] = 1;
  let total = 0;
  while (stack.length) {
    const i = stack.pop()!;
    total += g.selfSize[i]!;
    for (let e = g.firstEdge[i]!; e < g.firstEdge[i + 1]!; e++) {
      const t = g.edgeTo[e]!;
      if (g.edgeWeak[e] || seen[t] || skip(t)) continue;
      seen[t] = 1;
      stack.push(t);
    }
  }
  return total;
}

export interface Summary {
  total: number;
  reachableTotal: number;
  groups: Map<string, Group>;
  /** Retained size of every node of a group together, for the groups asked for. */
  retained: Map<string, number>;
}

/**
 * `retainedFor`: group keys (or predicates on a key) whose retained size to compute, or
 * `{ property }`: the retained size of all values of properties of that name (e.g. the
 * `memo` field of a class, reported as `.memo`).
 */
export function summarise(s: HeapSnapshot, retainedFor: Array<string | ((key: string) => boolean) | { property: string }> = []): Summary {
  const g = graph(s);
  const groups = new Map<string, Group>();
  const keys: string[] = new Array(g.nodeCount);
  let total = 0;
  for (let i = 0; i < g.nodeCount; i++) {
    const k = (keys[i] = g.key(i));
    let grp = groups.get(k);
    if (!grp) groups.set(k, (grp = { key: k, count: 0, selfSize: 0 }));
    grp.count++;
    grp.selfSize += g.selfSize[i]!;
    total += g.selfSize[i]!;
  }
  const reachableTotal = reachable(g, () => false);
  const retained = new Map<string, number>();
  for (const want of retainedFor) {
    if (typeof want === "object") {
      const targets = new Uint8Array(g.nodeCount);
      for (let e = 0; e < g.edgeTo.length; e++) if (g.edgeName(e) === want.property) targets[g.edgeTo[e]!] = 1;
      retained.set(`.${want.property}`, reachableTotal - reachable(g, (i) => targets[i] === 1));
      continue;
    }
    const match = typeof want === "string" ? (k: string) => k === want : want;
    for (const k of new Set(keys.filter(match))) {
      if (retained.has(k)) continue;
      retained.set(k, reachableTotal - reachable(g, (i) => keys[i] === k));
    }
  }
  return { total, reachableTotal, groups, retained };
}

export interface GroupDiff {
  key: string;
  countBefore: number;
  countAfter: number;
  selfBefore: number;
  selfAfter: number;
}

/** Groups by self-size growth from `a` to `b`, largest first. */
export function diff(a: Summary, b: Summary, top = 20): GroupDiff[] {
  const keys = new Set([...a.groups.keys(), ...b.groups.keys()]);
  return [...keys]
    .filter((k) => a.groups.get(k)?.selfSize !== b.groups.get(k)?.selfSize || a.groups.get(k)?.count !== b.groups.get(k)?.count)
    .map((key) => {
      const x = a.groups.get(key);
      const y = b.groups.get(key);
      return { key, countBefore: x?.count ?? 0, countAfter: y?.count ?? 0, selfBefore: x?.selfSize ?? 0, selfAfter: y?.selfSize ?? 0 };
    })
    .sort((p, q) => q.selfAfter - q.selfBefore - (p.selfAfter - p.selfBefore))
    .slice(0, top);
}

const mb = (b: number): string => (b / 1024 / 1024).toFixed(2);

/** Markdown table of a diff, plus retained sizes of the groups both summaries have. */
export function diffTable(a: Summary, b: Summary, top = 20): string[] {
  const lines = [
    `total self size ${mb(a.total)} -> ${mb(b.total)} MB (reachable from the root ${mb(a.reachableTotal)} -> ${mb(b.reachableTotal)} MB)`,
    "",
    "| constructor [type] | count before | count after | self before (MB) | self after (MB) | growth (MB) |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const d of diff(a, b, top)) {
    lines.push(`| ${d.key.replace(/\|/g, "\\|").slice(0, 80)} | ${d.countBefore} | ${d.countAfter} | ${mb(d.selfBefore)} | ${mb(d.selfAfter)} | ${mb(d.selfAfter - d.selfBefore)} |`);
  }
  const ret = [...b.retained.keys()].filter((k) => a.retained.has(k));
  if (ret.length) {
    lines.push("", "| retained by (all nodes of) | before (MB) | after (MB) | growth (MB) |", "|---|---:|---:|---:|");
    for (const k of ret) lines.push(`| ${k} | ${mb(a.retained.get(k)!)} | ${mb(b.retained.get(k)!)} | ${mb(b.retained.get(k)! - a.retained.get(k)!)} |`);
  }
  return lines;
}
