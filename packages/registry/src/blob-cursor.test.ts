import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobCursor } from './blob-cursor.js';

/** A blob served in uneven pieces (as files and sockets do), counting how often it is opened. */
function source(blob: Buffer, piece = 1000): { open: () => Promise<Readable>; opens: () => number } {
  let opens = 0;
  return {
    opens: () => opens,
    open: async () => {
      opens++;
      const parts: Buffer[] = [];
      for (let i = 0; i < blob.length; i += piece) parts.push(blob.subarray(i, i + piece));
      return Readable.from(parts);
    },
  };
}

describe('BlobCursor', () => {
  const blob = randomBytes(10_000);

  it('reads consecutive ranges from one stream, cutting pieces at range boundaries', async () => {
    const src = source(blob, 700);
    const cursor = new BlobCursor(src.open, 'test');
    const parts = [];
    for (let start = 0; start < blob.length; start += 3000)
      parts.push(await buffer(cursor.take(start, Math.min(3000, blob.length - start))));
    expect(Buffer.concat(parts).equals(blob)).toBe(true);
    expect(src.opens()).toBe(1);
    cursor.close();
  });

  it('reopens and skips for a range that is not next (a resume, a resend)', async () => {
    const src = source(blob, 700);
    const cursor = new BlobCursor(src.open, 'test');
    expect((await buffer(cursor.take(0, 4000))).equals(blob.subarray(0, 4000))).toBe(true);
    // The same range again (a chunk resent after an auth challenge), then one further back.
    expect((await buffer(cursor.take(0, 4000))).equals(blob.subarray(0, 4000))).toBe(true);
    expect((await buffer(cursor.take(2500, 100))).equals(blob.subarray(2500, 2600))).toBe(true);
    expect((await buffer(cursor.take(2600, 7400))).equals(blob.subarray(2600))).toBe(true);
    expect(src.opens()).toBe(3);
    cursor.close();
  });

  it('a range abandoned halfway does not corrupt the next one', async () => {
    // Larger than a stream's read-ahead, so the first range cannot finish on its own.
    const big = randomBytes(200_000);
    const cursor = new BlobCursor(source(big, 500).open, 'test');
    const first = cursor.take(0, 100_000);
    const failed = new Promise((resolve) => first.once('error', resolve));
    const firstPiece: Buffer = await new Promise((resolve) =>
      first.once('data', (chunk: Buffer) => {
        first.pause();
        resolve(chunk);
      }),
    );
    expect(firstPiece.equals(big.subarray(0, firstPiece.length))).toBe(true);
    // A newer read of the same range (a resend) replaces the unfinished one, which then fails.
    expect((await buffer(cursor.take(0, 100_000))).equals(big.subarray(0, 100_000))).toBe(true);
    first.resume();
    await expect(failed).resolves.toMatchObject({ code: 'CANCELLED' });
    expect((await buffer(cursor.take(100_000, 100_000))).equals(big.subarray(100_000))).toBe(true);
    cursor.close();
  });

  it('fails with SIZE_MISMATCH when the blob is shorter than the range', async () => {
    const cursor = new BlobCursor(source(blob).open, 'blob x');
    await expect(buffer(cursor.take(9000, 2000))).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(buffer(cursor.take(12_000, 10))).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    cursor.close();
  });
});
