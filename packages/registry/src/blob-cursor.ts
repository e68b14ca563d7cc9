import { Readable } from 'node:stream';
import { RegistryError } from './registry-error.js';

/**
 * Reads byte ranges of one blob from a source that can only stream it from its start (the local
 * store). Ranges taken one after the other share one open stream, so a chunked upload reads the
 * blob once; any other range (a resume after a failed chunk, a chunk sent again after an auth
 * challenge) opens a fresh stream and skips to the range's start. At most one range stream reads
 * the shared stream: taking a range while another is unfinished reopens rather than share it.
 * `close` destroys the open stream; the cursor owns every stream it opens.
 */
export class BlobCursor {
  private stream?: Readable;
  private iterator?: AsyncIterator<unknown>;
  /** The blob offset of the next byte the shared stream yields (`pending` first). */
  private position = 0;
  private pending?: Buffer;
  /** The range stream that currently reads the shared stream, if any. */
  private reader?: number;
  private takes = 0;

  constructor(
    private readonly open: () => Promise<Readable>,
    private readonly what: string,
  ) {}

  /** A stream of exactly `length` bytes starting at `start`; it errors if the blob is shorter. */
  take(start: number, length: number): Readable {
    const id = ++this.takes;
    return Readable.from(this.read(id, start, length), { objectMode: false });
  }

  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iterator = undefined;
    this.pending = undefined;
  }

  private async *read(id: number, start: number, length: number): AsyncGenerator<Buffer> {
    const reopen = this.reader !== undefined || this.position !== start || !this.iterator;
    this.reader = id;
    try {
      if (reopen) await this.seek(id, start);
      let left = length;
      while (left > 0) {
        this.checkReader(id);
        const chunk = await this.next();
        // A newer range may have replaced the shared stream while we waited: this one is stale.
        this.checkReader(id);
        if (!chunk) throw this.ended();
        const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
        if (chunk.length > left) this.pending = chunk.subarray(left);
        left -= piece.length;
        this.position += piece.length;
        yield piece;
      }
    } finally {
      if (this.reader === id) this.reader = undefined;
    }
  }

  private checkReader(id: number): void {
    if (this.reader !== id)
      throw new RegistryError('CANCELLED', `${this.what}: a newer read of the blob replaced this one`);
  }

  private ended(): RegistryError {
    return new RegistryError('SIZE_MISMATCH', `${this.what}: the local blob is shorter than its descriptor`);
  }

  /**
   * Opens a fresh stream and skips to `offset` (reading the skipped bytes from disk, keeping
   * none), then makes it the shared stream unless a newer range took over meanwhile.
   */
  private async seek(id: number, offset: number): Promise<void> {
    const stream = await this.open();
    try {
      const iterator = stream[Symbol.asyncIterator]();
      let position = 0;
      let pending: Buffer | undefined;
      while (position < offset) {
        const r = await iterator.next();
        if (r.done) throw this.ended();
        const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as string);
        const keep = position + chunk.length - offset;
        if (keep > 0) pending = chunk.subarray(chunk.length - keep);
        position += chunk.length;
      }
      this.checkReader(id);
      this.close();
      this.stream = stream;
      this.iterator = iterator;
      this.position = offset;
      this.pending = pending;
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }

  private async next(): Promise<Buffer | undefined> {
    if (this.pending) {
      const chunk = this.pending;
      this.pending = undefined;
      return chunk;
    }
    const iterator = this.iterator;
    if (!iterator) return undefined;
    const r = await iterator.next();
    if (r.done) return undefined;
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as string);
  }
}
