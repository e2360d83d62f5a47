// Route selection: host (case-insensitive, port stripped, empty = any, "*.example.com"
// = any subdomain) and a path prefix on a segment boundary; the first matching route
// in config order wins.
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/core/config/parse.js";
import type { Config } from "../../src/core/config/schema.js";
import { hostMatches } from "../../src/core/config/host-pattern.js";
import { matchRoute, pathMatches } from "../../src/core/route-match.js";

function config(routes: Array<{ id: string; hosts?: string[]; pathPrefix?: string }>): Config {
  const parsed = validateConfig({
    version: 1,
    routes: routes.map(({ id, hosts, pathPrefix }) => ({
      id,
      match: { hosts, pathPrefix },
      stable: { origin: "https://stable.example" },
      canary: { origin: "https://canary.example" },
      release: "r1",
    })),
  });
  if (!parsed.ok) throw new Error(parsed.error.join("\n"));
  return parsed.value;
}

describe("pathMatches", () => {
  it.each([
    ["/", "/", true],
    ["/", "/anything/at/all", true],
    ["/app", "/app", true],
    ["/app", "/app/", true],
    ["/app", "/app/x/y", true],
    ["/app", "/apple", false],
    ["/app", "/ap", false],
    ["/app", "/", false],
    ["/app", "/other/app", false],
    ["/app", "/App", false],
    ["/app/", "/app/", true],
    ["/app/", "/app/x", true],
    ["/app/", "/app", false],
    ["/app/", "/apple", false],
    ["/a/b", "/a/b/c", true],
    ["/a/b", "/a/bc", false],
  ])("prefix %s vs path %s -> %s", (prefix, path, expected) => {
    expect(pathMatches(prefix, path)).toBe(expected);
  });
});

describe("hostMatches", () => {
  it.each([
    ["shop.example.com", "shop.example.com", true],
    ["shop.example.com", "www.shop.example.com", false],
    ["*.example.com", "a.example.com", true],
    ["*.example.com", "a.b.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", ".example.com", false],
    ["*.example.com", "badexample.com", false],
    ["*.example.com", "example.com.evil", false],
    ["*.example.com", "a.example.co", false],
    ["*.xn--bcher-kva.example", "shop.xn--bcher-kva.example", true],
  ])("%s vs %s -> %s", (pattern, host, expected) => {
    expect(hostMatches(pattern, host)).toBe(expected);
  });
});

describe("matchRoute", () => {
  const byHost = config([
    { id: "shop", hosts: ["Shop.Example.com"] },
    { id: "api", hosts: ["api.example.com", "api2.example.com"] },
  ]);

  it.each([
    ["shop.example.com", "shop"],
    ["SHOP.EXAMPLE.COM", "shop"],
    ["shop.example.com:8443", "shop"],
    ["api2.example.com", "api"],
    ["API.example.com:80", "api"],
    ["other.example.com", undefined],
    ["shop.example.com.evil", undefined],
  ])("host %s -> %s", (host, id) => {
    expect(matchRoute(byHost, host, "/")?.id).toBe(id);
  });

  it("matches a wildcard host on any subdomain, not the apex, in config order", () => {
    const wild = config([
      { id: "admin", hosts: ["admin.example.com"] },
      { id: "subs", hosts: ["*.Example.com"] },
      { id: "apex", hosts: ["example.com"] },
    ]);
    expect(matchRoute(wild, "admin.example.com", "/")?.id).toBe("admin");
    expect(matchRoute(wild, "shop.example.com:8443", "/")?.id).toBe("subs");
    expect(matchRoute(wild, "A.B.EXAMPLE.COM", "/")?.id).toBe("subs");
    expect(matchRoute(wild, "example.com", "/")?.id).toBe("apex");
    expect(matchRoute(wild, "notexample.com", "/")).toBeUndefined();
  });

  it("matches a Unicode host from config against the punycode Host a request carries", () => {
    const idn = config([{ id: "books", hosts: ["Bücher.example"] }]);
    expect(matchRoute(idn, new URL("https://bücher.example/").host, "/")?.id).toBe("books");
    expect(matchRoute(idn, "xn--bcher-kva.example", "/")?.id).toBe("books");
  });

  it("matches any host when hosts is empty", () => {
    const any = config([{ id: "all" }]);
    expect(matchRoute(any, "whatever.example", "/x")?.id).toBe("all");
    expect(matchRoute(any, "[::1]:8787", "/x")?.id).toBe("all");
    expect(matchRoute(any, "localhost", "/")?.id).toBe("all");
  });

  const byPath = config([
    { id: "app", pathPrefix: "/app" },
    { id: "api-v2", hosts: ["api.example.com"], pathPrefix: "/v2/" },
    { id: "api", hosts: ["api.example.com"] },
    { id: "rest" },
  ]);

  it.each([
    ["www.example.com", "/app", "app"],
    ["www.example.com", "/app/cart", "app"],
    ["www.example.com", "/apple", "rest"],
    ["api.example.com", "/app/x", "app"], // first match wins, even over a host-specific route
    ["api.example.com", "/v2/users", "api-v2"],
    ["api.example.com", "/v2", "api"],
    ["api.example.com", "/v1/users", "api"],
    ["www.example.com", "/v2/users", "rest"],
  ])("%s%s -> %s (first matching route in order)", (host, path, id) => {
    expect(matchRoute(byPath, host, path)?.id).toBe(id);
  });

  it("returns undefined when no route matches", () => {
    const only = config([{ id: "app", hosts: ["a.example"], pathPrefix: "/app" }]);
    expect(matchRoute(only, "a.example", "/apple")).toBeUndefined();
    expect(matchRoute(only, "b.example", "/app")).toBeUndefined();
  });
});
