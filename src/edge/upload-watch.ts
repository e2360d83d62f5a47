// The client's request body on its way to an origin, watched so that what the client
// does wrong is never blamed on the origin: the origin's header timeout starts only once
// the body has been fully sent, an upload that goes silent for `stallMs` is cut
// (client_stall), and a body stream that errors (the client went away) is a
// client_abort. Only requests with a body pay for this: a JS pump between the client's
// stream and a native one (FixedLengthStream when Content-Length is known, so the origin
// still gets a Content-Length), one timer per chunk read.
export type UploadState = "sending" | "sent" | "client_abort" | "client_stall";

export interface UploadEvents {
  /** The last byte was handed to the origin's stream. */
  sent(): void;
  /** The client failed the upload (state says how); the origin fetch should be abandoned. */
  failed(): void;
}

export class UploadWatch {
  state: UploadState = "sending";
  readonly body: ReadableStream<Uint8Array>;
  private readonly source: ReadableStream<Uint8Array>;
  private readonly writable: WritableStream<Uint8Array>;

  constructor(
    source: ReadableStream<Uint8Array>,
    contentLength: string | null,
    private readonly stallMs: number,
  ) {
    const length = contentLength !== null && /^\d{1,15}$/.test(contentLength) ? Number(contentLength) : undefined;
    const pipe = length !== undefined ? new FixedLengthStream(length) : new IdentityTransformStream();
    this.source = source;
    this.body = pipe.readable;
    this.writable = pipe.writable;
  }

  /** Starts moving bytes; call once, when the origin fetch starts reading `body`. */
  start(events: UploadEvents): void {
    void this.pump(events);
  }

  private async pump(events: UploadEvents): Promise<void> {
    const reader = this.source.getReader();
    const writer = this.writable.getWriter();
    const fail = (state: "client_abort" | "client_stall", reason: unknown): void => {
      if (this.state !== "sending") return;
      this.state = state;
      reader.cancel(reason).catch(() => {});
      writer.abort(reason).catch(() => {});
      events.failed();
    };
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array> | "stall";
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        chunk = await Promise.race([
          reader.read(),
          new Promise<"stall">((resolve) => {
            timer = setTimeout(() => resolve("stall"), this.stallMs);
          }),
        ]);
      } catch (e) {
        return fail("client_abort", e);
      } finally {
        clearTimeout(timer);
      }
      if (chunk === "stall") return fail("client_stall", new Error(`client sent no body bytes for ${this.stallMs} ms`));
      try {
        if (chunk.done) {
          await writer.close();
          this.state = "sent";
          events.sent();
          return;
        }
        await writer.write(chunk.value);
      } catch (e) {
        // A short body under Content-Length is the client's fault; anything else on the
        // writing side means the origin fetch went away, which fetchOrigin reports itself.
        if (chunk.done) return fail("client_abort", e);
        reader.cancel(e).catch(() => {});
        return;
      }
    }
  }
}
