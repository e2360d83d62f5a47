// The client request's headers as the request path reads them.
/**
 * The request's headers with the Cookie header read at most once. In workerd every
 * Request/Headers property and method is a call into the runtime (a few µs each under
 * load), and identity and override both look at cookies.
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
