// Placeholder until the coordinator lands (issue 3).
import { DurableObject } from "cloudflare:workers";

export class Coordinator extends DurableObject<Env> {}
