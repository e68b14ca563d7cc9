import { randomBytes } from 'node:crypto';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { GZIP_BLOCK_BYTES, gzipOneBlock, parallelGzip } from './parallel-gzip.js';

// How each 1 MiB block is compressed depends only on its bytes: stored when a sample does not
// compress, run-length only when it compresses a little, full deflate otherwise.

async function members(input: Buffer): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const m of parallelGzip(
    (async function* () {
      yield input;
    })(),
    6,
  ))
    out.push(m);
  return out;
}

const CHUNK = GZIP_BLOCK_BYTES + 4096;
const MiB = GZIP_BLOCK_BYTES;

/** Random 5,000-byte "files" between 512-byte zero "headers": compresses to ~0.9. */
function tarOfRandomFiles(size: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  while (n < size) {
    parts.push(Buffer.alloc(512), randomBytes(5000), Buffer.alloc(120));
    n += 5632;
  }
  return Buffer.concat(parts).subarray(0, size);
}

function text(size: number): Buffer {
  const line = 'the quick brown fox jumps over the lazy dog, again and again and again\n';
  return Buffer.from(line.repeat(Math.ceil(size / line.length))).subarray(0, size);
}

test('each block is stored, run-length coded or deflated, as its sample says', async () => {
  const random = randomBytes(MiB);
  const mixed = tarOfRandomFiles(MiB);
  const prose = text(MiB);
  const out = await members(Buffer.concat([random, mixed, prose]));
  expect(out).toHaveLength(3);
  expect(out[0]?.equals(gzipSync(random, { level: 0, chunkSize: CHUNK }))).toBe(true);
  expect(out[1]?.equals(gzipSync(mixed, { level: 6, strategy: constants.Z_RLE, chunkSize: CHUNK }))).toBe(
    true,
  );
  expect(out[2]?.equals(gzipSync(prose, { level: 6, chunkSize: CHUNK }))).toBe(true);
  // Not the same bytes as a full deflate of the mixed block (so the line above can fail).
  expect(out[1]?.equals(gzipSync(mixed, { level: 6, chunkSize: CHUNK }))).toBe(false);
  expect(gunzipSync(Buffer.concat(out)).equals(Buffer.concat([random, mixed, prose]))).toBe(true);
});

test('the same input gives the same bytes', async () => {
  const input = Buffer.concat([tarOfRandomFiles(MiB + 777), text(2 * MiB)]);
  expect(Buffer.concat(await members(input)).equals(Buffer.concat(await members(input)))).toBe(true);
});

test('gzipOneBlock makes the member parallelGzip makes of one block, on the calling thread', async () => {
  for (const input of [
    Buffer.alloc(0),
    text(3000),
    randomBytes(5000),
    tarOfRandomFiles(40_000),
    Buffer.concat([randomBytes(MiB - 1000), Buffer.alloc(1000)]),
  ]) {
    const [member, ...more] = await members(input);
    expect(more).toEqual([]);
    expect(gzipOneBlock(input, 6).equals(member as Buffer)).toBe(true);
  }
  // Not one block: parallelGzip would make two members.
  expect(() => gzipOneBlock(Buffer.alloc(MiB + 1), 6)).toThrow(RangeError);
});
