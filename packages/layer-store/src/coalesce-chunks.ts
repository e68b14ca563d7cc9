/**
 * Re-chunks a byte stream into pieces of at least `size` bytes (the last may be smaller), so a
 * tar of many small entries reaches hashing and gzip in few large calls instead of many tiny ones.
 */
export async function* coalesceChunks(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const chunk of source) {
    parts.push(chunk);
    held += chunk.length;
    if (held >= size) {
      yield parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, held);
      parts = [];
      held = 0;
    }
  }
  if (held > 0) yield Buffer.concat(parts, held);
}
