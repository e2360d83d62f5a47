// Checks the tag of our own identity cookie when IDENTITY_SECRET is set. A per-isolate
// set remembers cookie values already verified under the current secret, so a returning
// user costs one HMAC per isolate, not one per request. It is safe because only values
// that verified are kept (a forgery is never cached and costs its sender one HMAC each
// time), the set is bounded (oldest dropped first) and emptied when the secret changes.
import type { Identity } from "../core/identity.js";
import { verifyIdentityTag, type IdentitySecrets } from "../core/identity-tag.js";

/** Verified cookie values kept per isolate: ~10,000 x ~60 bytes. */
export const VERIFIED_CACHE_SIZE = 10_000;

export type TagVerdict = "current" | "previous" | undefined;

export class IdentityCheck {
  private readonly verified = new Set<string>();
  private secret: string | undefined;
  /** The env's secrets as an object, rebuilt only when they change (not per request). */
  private secrets: IdentitySecrets | undefined;

  constructor(private readonly max = VERIFIED_CACHE_SIZE) {}

  /** The identity secrets from the Worker's env, or undefined when none is set. */
  secretsOf(env: Env): IdentitySecrets | undefined {
    const current = env.IDENTITY_SECRET;
    if (!current) return undefined;
    const previous = env.IDENTITY_SECRET_PREVIOUS || undefined;
    if (this.secrets?.current !== current || this.secrets.previous !== previous) {
      this.secrets = previous ? { current, previous } : { current };
    }
    return this.secrets;
  }

  /** Which secret tagged this own-cookie identity; synchronous when already verified here. */
  check(identity: Identity, secrets: IdentitySecrets): TagVerdict | Promise<TagVerdict> {
    if (identity.tag === undefined) return undefined;
    if (this.secret !== secrets.current) {
      this.verified.clear();
      this.secret = secrets.current;
    }
    const value = `${identity.id}.${identity.tag}`;
    if (this.verified.has(value)) return "current";
    return verifyIdentityTag({ id: identity.id, tag: identity.tag }, secrets).then((verdict) => {
      if (verdict === "current" && this.secret === secrets.current) {
        if (this.verified.size >= this.max) this.verified.delete(this.verified.values().next().value!);
        this.verified.add(value);
      }
      return verdict;
    });
  }
}
