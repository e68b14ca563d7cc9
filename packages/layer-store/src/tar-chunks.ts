import { closeSync, openSync, readSync } from 'node:fs';
import type { ContentSource } from './layer-entry.js';
import type { ReadyEntry } from './read-ahead.js';
import { END_OF_TAR_BYTES, encodeEntryHeader, encodeHeaderInto, paddingAfter } from './tar-encode.js';
import type { TarHeader } from './tar-header.js';
import { LayerStoreError } from './layer-store-error.js';

/**
 * A tar of `entries` (in their order, then the end-of-archive blocks) as chunks of `chunkBytes`
 * (the last may be shorter), each a new Buffer the consumer may keep. Headers are tar-stream's
 * bytes (see encodeEntryHeader). A small host file (`hostFile`) is read straight into the chunk:
 * no Buffer per file, which for 20,000 files is 100 MB of garbage and a copy. A regular file's
 * content must be exactly `header.size` bytes, else FILE_SIZE_MISMATCH before a byte too many is
 * written; the source is read to its end or destroyed.
 */
export async function* tarChunks(
  entries: AsyncIterable<ReadyEntry>,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  const out = new ChunkWriter(chunkBytes);
  for await (const { entry, source, hostFile } of entries) {
    const header = entry.header;
    out.header(header);
    if (header.type === 'file') {
      if (hostFile !== undefined) out.readFile(hostFile, header);
      else yield* writeContent(out, header, source);
      out.zeros(paddingAfter(header.size ?? 0));
    } else if (source && !Buffer.isBuffer(source) && 'destroy' in source) source.destroy();
    yield* out.take();
  }
  out.zeros(END_OF_TAR_BYTES);
  yield* out.take();
  const last = out.rest();
  if (last) yield last;
}

/** Writes an entry's content, handing over full chunks as it goes (a big file is never held). */
async function* writeContent(
  out: ChunkWriter,
  header: TarHeader,
  source: ContentSource | AsyncIterable<Buffer> | Buffer | undefined,
): AsyncGenerator<Buffer> {
  const size = header.size ?? 0;
  if (Buffer.isBuffer(source)) {
    if (source.length > size) throw sizeMismatch(header, `more than ${size}`);
    if (source.length < size) throw sizeMismatch(header, String(source.length));
    out.put(source);
    return;
  }
  let written = 0;
  let ended = false;
  try {
    if (source)
      for await (const chunk of source as AsyncIterable<Buffer | string>) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        written += buf.length;
        if (written > size) throw sizeMismatch(header, `more than ${size}`);
        out.put(buf);
        yield* out.take();
      }
    ended = true;
  } finally {
    // Failed, or the consumer stopped early: the source is not read to its end.
    if (!ended && source && 'destroy' in source) source.destroy();
  }
  if (written !== size) throw sizeMismatch(header, String(written));
}

/** Where a file's first byte too many is read when its chunk has no room for it. */
const oneByte = Buffer.alloc(1);

/** Bytes gathered into fixed-size chunks; full chunks wait in `take()`. */
class ChunkWriter {
  private chunk: Buffer;
  private at = 0;
  private full: Buffer[] = [];

  constructor(private readonly chunkBytes: number) {
    if (chunkBytes % 512 !== 0) throw new Error('internal: tar chunks must be whole 512-byte blocks');
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** An entry's header: written in place when it can be (see encodeHeaderInto). */
  header(header: TarHeader): void {
    // Everything in a tar is 512-byte blocks and chunks are whole blocks: a header never
    // straddles two chunks.
    if (this.at + 512 <= this.chunkBytes) {
      this.chunk.fill(0, this.at, this.at + 512);
      if (encodeHeaderInto(header, this.chunk, this.at)) {
        this.at += 512;
        if (this.at === this.chunkBytes) this.next();
        return;
      }
    }
    for (const part of encodeEntryHeader(header)) this.put(part);
  }

  put(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(bytes.length - from, this.chunkBytes - this.at);
      this.chunk.set(bytes.subarray(from, from + n), this.at);
      this.at += n;
      from += n;
      if (this.at === this.chunkBytes) this.next();
    }
  }

  zeros(count: number): void {
    let left = count;
    while (left > 0) {
      const n = Math.min(left, this.chunkBytes - this.at);
      this.chunk.fill(0, this.at, this.at + n);
      this.at += n;
      left -= n;
      if (this.at === this.chunkBytes) this.next();
    }
  }

  /**
   * Reads the host file at `path` into the chunks: exactly `header.size` bytes, and then checks
   * that the file has no more (as the layer writer did with a whole-file read).
   */
  readFile(path: string, header: TarHeader): void {
    const size = header.size ?? 0;
    const fd = openSync(path, 'r');
    try {
      let done = 0;
      // Whether the end of the file has been seen: the last read asks for one byte more than is
      // left when the chunk has room for it, so a file of the planned size needs no extra read
      // to show it has nothing more (a read syscall per file saved). A byte read into that room
      // is past `at`, overwritten by what comes next.
      let ended = false;
      while (done < size) {
        const left = size - done;
        const room = this.chunkBytes - this.at;
        const ask = left < room ? left + 1 : Math.min(left, room);
        const n = readSync(fd, this.chunk, this.at, ask, null);
        if (n === 0) throw sizeMismatch(header, String(done));
        if (n > left) throw sizeMismatch(header, `more than ${size}`);
        // A regular file reads short only at its end.
        if (ask > left) ended = true;
        done += n;
        this.at += n;
        if (this.at === this.chunkBytes) this.next();
      }
      if (!ended && readSync(fd, oneByte, 0, 1, null) > 0) throw sizeMismatch(header, `more than ${size}`);
    } finally {
      closeSync(fd);
    }
  }

  /** The chunks filled so far. */
  *take(): Generator<Buffer> {
    const full = this.full;
    this.full = [];
    yield* full;
  }

  /** What is left in the current chunk (undefined when empty). */
  rest(): Buffer | undefined {
    return this.at === 0 ? undefined : this.chunk.subarray(0, this.at);
  }

  private next(): void {
    this.full.push(this.chunk);
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.at = 0;
  }
}

/** A regular file whose content is not its header's size (`got`: what it yielded). */
function sizeMismatch(header: TarHeader, got: string): LayerStoreError {
  return new LayerStoreError(
    'FILE_SIZE_MISMATCH',
    `file "${header.name}" yielded ${got} bytes, but its header says ${header.size}`,
    'the file changed while the layer was written',
  );
}
