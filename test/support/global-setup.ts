// Starts real HTTP origins on 127.0.0.1 for the Worker tests (Node side) and hands
// their URLs to the workerd side through vitest's provide/inject.
import type { TestProject } from "vitest/node";
import { closedPort, startOrigin, type OriginServer } from "../../scripts/lib/origin-server.js";

let origins: OriginServer[] = [];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stable = await startOrigin("stable");
  const canary = await startOrigin("canary");
  origins = [stable, canary];
  project.provide("origins", { stable: stable.url, canary: canary.url, down: `http://127.0.0.1:${await closedPort()}` });
  return async () => {
    await Promise.all(origins.map((o) => o.close()));
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    origins: { stable: string; canary: string; down: string };
  }
}
