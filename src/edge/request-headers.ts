// The client request's headers as the request path reads them.
/**
 * The request's headers with the Cookie header read at most once: identity and override
 * both look at cookies, and each read is a call into workerd that copies the string.
 */
export class RequestHeaders {
  private cookie: string | null | undefined;
  constructor(private readonly headers: Headers) {}
  get(name: string): string | null {
    if (name !== "cookie") return this.headers.get(name);
    if (this.cookie === undefined) this.cookie = this.headers.get("cookie");
    return this.cookie;
  }
}
