// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here.
declare namespace Cloudflare {
  interface Env {
    /** Bearer token for the admin API and dashboard (`wrangler secret put ADMIN_TOKEN`). */
    ADMIN_TOKEN?: string;
    /** HMAC key that signs QA override tokens (`wrangler secret put OVERRIDE_SECRET`). */
    OVERRIDE_SECRET?: string;
  }
}
