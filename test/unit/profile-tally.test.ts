import { describe, expect, it } from "vitest";
import { tally } from "../../scripts/bench/profile.js";

const node = (id: number, functionName: string, hitCount: number, children: number[] = [], url = "index.js", lineNumber = 9) => ({
  id,
  callFrame: { functionName, url, lineNumber },
  hitCount,
  children,
});

describe("tally (bench:profile)", () => {
  it("counts self samples per function and inclusive samples up the stack, once per stack", () => {
    // root -> handle -> fetchOrigin -> handle (recursion) ; root -> (idle)
    const nodes = [
      node(1, "(root)", 0, [2, 5], ""),
      node(2, "handle", 3, [3]),
      node(3, "fetchOrigin", 5, [4]),
      node(4, "handle", 2),
      node(5, "(idle)", 7, [], ""),
    ];
    const { self, inclusive, total } = tally(nodes);
    expect(total).toBe(17);
    expect(self.get("handle :10")).toBe(5);
    expect(self.get("fetchOrigin :10")).toBe(5);
    expect(self.get("(idle)")).toBe(7);
    expect(inclusive.get("handle :10")).toBe(10); // 3 + 5 + 2, the recursive frame not twice
    expect(inclusive.get("fetchOrigin :10")).toBe(7);
    expect(inclusive.get("(root)")).toBe(17);
  });
});
