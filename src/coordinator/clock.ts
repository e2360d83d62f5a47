// The coordinator's clock, read in one place. The runtime constructs a Durable Object
// with (ctx, env) only, so time cannot come in through its constructor the way it does
// for the Worker (createWorker); the Worker tests replace `now` with a clock they drive
// (test/worker/helpers.ts) instead of sleeping. Production code never assigns it.
export const coordinatorClock: { now: () => number } = { now: () => Date.now() };
