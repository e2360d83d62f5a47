// Entry: the Worker over the runtime's clock and random source, and the coordinator class.
import { createWorker } from "./worker.js";

export default createWorker({
  now: Date.now,
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
}) satisfies ExportedHandler<Env>;

export { Coordinator } from "./coordinator/coordinator.js";
