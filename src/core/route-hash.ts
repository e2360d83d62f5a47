// A short, stable hash of one route's config in force, shared by the edge and the
// coordinator: the parsed config with defaults applied is serialised in schema order,
// so two isolates with the same document always agree.
import { murmur3 } from "./bucket.js";
import type { RouteConfig } from "./config/schema.js";

export const routeHash = (route: RouteConfig): string =>
  murmur3(JSON.stringify(route), 0x2f6b1a3d).toString(16).padStart(8, "0");
