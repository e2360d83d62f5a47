// One response body read for a shadow comparison (shadow-mirror.ts), bounded in bytes
// and time, and the exact comparison of two such reads. Kept apart from the mirror
// because it is the one place that touches body bytes: the mirror decides, this reads.
import { compareBodies, type BodyDigest } from "../core/shadow/compare.js";

/** Bytes of each streamed body kept to say where two bodies first differ (the rest is only hashed). */
const HEAD_BYTES = 4096;

const CONTENT_LENGTH = /^\d{1,15}$/;

export interface TextBody {
  text: string;
}

export type ReadEnd = "oversize" | "timeout" | "error";

/** A response's Content-Length when it gives a valid one. */
export const lengthOf = (headers: Headers): number | undefined => {
  const cl = headers.get("content-length");
  return cl !== null && CONTENT_LENGTH.test(cl) ? Number(cl) : undefined;
};

/** Bodies of a known length up to this are compared whole, in memory, not hashed (see BodyRead). */
const BUFFER_BELOW = 64 * 1024;

/**
 * One body read for the comparison, bounded in bytes and time. A body whose
 * Content-Length fits is read by the runtime, not by JavaScript (the runtime enforces
 * the length): as text for the JSON comparison, and for the exact one as bytes when it
 * is at most BUFFER_BELOW, compared byte for byte, which also says where two bodies
 * first differ. Any other body is streamed chunk by chunk into a DigestStream (SHA-256),
 * counted and cancelled as soon as it passes maxBytes, its first HEAD_BYTES kept to
 * locate a difference. Measured in workerd per 16 KiB: a DigestStream pipe ~70 µs of
 * CPU, reading the bytes whole and comparing them ~15 µs; the price is holding up to
 * BUFFER_BELOW per side while the canary answers (maxInFlight x 2 x 64 KiB at most).
 */
export class BodyRead {
  readonly result: Promise<BodyDigest | TextBody | ReadEnd>;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly abort = new AbortController();
  private cancelled = false;

  constructor(stream: ReadableStream<Uint8Array> | null, length: number | undefined, maxBytes: number, hash: boolean, timeoutMs: number) {
    const whole = stream !== null && length !== undefined && (!hash || length <= BUFFER_BELOW);
    const read = whole ? this.native(stream, hash, timeoutMs) : this.read(stream, maxBytes, hash, timeoutMs);
    this.result = read.catch((): ReadEnd => "error");
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.abort.abort();
    this.reader?.cancel().catch(() => {});
  }

  /**
   * A body of known length the runtime reads whole: as bytes (at most BUFFER_BELOW) or
   * as text. The runtime holds the stream while it reads, so a timeout or a cancel stops
   * the wait, not the read (which the Content-Length bounds).
   */
  private async native(stream: ReadableStream<Uint8Array>, hash: boolean, timeoutMs: number): Promise<BodyDigest | TextBody | ReadEnd> {
    const body = new Response(stream);
    const read: Promise<BodyDigest | TextBody> = hash
      ? body.arrayBuffer().then((buf) => ({ bytes: buf.byteLength, head: new Uint8Array(buf) }))
      : body.text().then((text) => ({ text }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<ReadEnd>((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    const cancelled = new Promise<ReadEnd>((r) => this.abort.signal.addEventListener("abort", () => r("error")));
    try {
      return await Promise.race([read, timeout, cancelled]);
    } catch {
      return "error";
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(stream: ReadableStream<Uint8Array> | null, maxBytes: number, hash: boolean, timeoutMs: number): Promise<BodyDigest | TextBody | ReadEnd> {
    const digest = hash ? new crypto.DigestStream("SHA-256") : undefined;
    // An aborted digest rejects its promise: read only when the body was whole.
    digest?.digest.catch(() => {});
    const writer = digest?.getWriter();
    const chunks: Uint8Array[] = [];
    let head: Uint8Array | undefined;
    let bytes = 0;
    if (stream !== null) {
      const reader = (this.reader = stream.getReader());
      if (this.cancelled) reader.cancel().catch(() => {});
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reader.cancel().catch(() => {});
      }, timeoutMs);
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
          if (bytes > maxBytes) {
            reader.cancel().catch(() => {});
            writer?.abort().catch(() => {});
            return "oversize";
          }
          if (writer) {
            if (head === undefined) head = value.slice(0, HEAD_BYTES);
            else if (head.length < HEAD_BYTES) head = concat([head, value.subarray(0, HEAD_BYTES - head.length)]);
            await writer.write(value);
          } else chunks.push(value);
        }
      } catch {
        writer?.abort().catch(() => {});
        return timedOut ? "timeout" : "error";
      } finally {
        clearTimeout(timer);
      }
      if (timedOut) return "timeout";
      if (this.cancelled) return "error";
    }
    if (!writer || !digest) return { text: new TextDecoder().decode(concat(chunks)) };
    await writer.close();
    return { hash: hex(await digest.digest), bytes, head: head ?? new Uint8Array(0) };
  }
}

/** compareBodies on two bodies read alike: a whole body is hashed when the other was streamed (rare). */
export async function comparedBodies(a: BodyDigest, b: BodyDigest): Promise<string | undefined> {
  if ((a.hash === undefined) === (b.hash === undefined)) return compareBodies(a, b);
  const hashed = async (d: BodyDigest): Promise<BodyDigest> =>
    d.hash !== undefined ? d : { hash: hex(await crypto.subtle.digest("SHA-256", d.head)), bytes: d.bytes, head: d.head.subarray(0, HEAD_BYTES) };
  return compareBodies(await hashed(a), await hashed(b));
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function hex(buf: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(buf)) s += b.toString(16).padStart(2, "0");
  return s;
}
