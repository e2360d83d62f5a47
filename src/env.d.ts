// Secrets are not in the wrangler config, so `wrangler types` cannot see them: declared
// here, on both the global Env and Cloudflare.Env (what `cloudflare:workers`' env uses).
interface Secrets {
  /** Bearer token for the admin API and dashboard (`wrangler secret put ADMIN_TOKEN`). */
  ADMIN_TOKEN?: string;
  /** HMAC key that signs QA override tokens (`wrangler secret put OVERRIDE_SECRET`). */
  OVERRIDE_SECRET?: string;
  /** HMAC key that tags minted identity cookies (`wrangler secret put IDENTITY_SECRET`). */
  IDENTITY_SECRET?: string;
  /** The secret before the last rotation: its tags are still accepted and re-issued. */
  IDENTITY_SECRET_PREVIOUS?: string;
}
interface Env extends Secrets {}
declare namespace Cloudflare {
  interface Env extends Secrets {}
}
