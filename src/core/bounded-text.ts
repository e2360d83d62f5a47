// A request body read as text up to a byte bound, whatever Content-Length said (a chunked
// body has none): the admin API's JSON bodies and the browser's beacons both refuse a
// larger one without holding more than the bound in memory.

/** The body as text, or undefined past `max` bytes whatever content-length said. */
export async function boundedText(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | undefined> {
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
