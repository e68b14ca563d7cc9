import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { decompressedStream, type Compression } from './decompressed-stream.js';

/** How ADD reads a local archive: a plain tar, or a tar in one of the compressions it knows. */
export type ArchiveKind = 'tar' | 'tar+gzip' | 'tar+bzip2' | 'tar+xz' | 'tar+zstd';

/** Magic bytes of each compression, as Docker's archive.DetectCompression (plus zstd, as newer Docker). */
const MAGIC: readonly (readonly [Compression, Buffer])[] = [
  ['gzip', Buffer.from([0x1f, 0x8b, 0x08])],
  ['bzip2', Buffer.from('BZh', 'latin1')],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];

const BLOCK = 512;

/**
 * Whether ADD unpacks a local file, and how, by content as Docker's archive.IsArchivePath does:
 * the compression is told by magic bytes (not the name), and the file is an archive only when the
 * first 512 bytes it decompresses to are a tar header with a valid checksum. Anything else (a
 * compressed file that is not a tar, an empty or short one, one that fails to decompress) is
 * copied as it is. Reads at most one block of output, then stops the decompressor. Rejects when
 * the file cannot be read, or with MISSING_TOOL when the program a compression needs is absent.
 */
export async function archiveKind(path: string, location?: ErrorLocation): Promise<ArchiveKind | undefined> {
  const compression = await detectCompression(path);
  const stream = compression
    ? decompressedStream(path, compression, location)
    : createReadStream(path, { end: BLOCK - 1 });
  if (!isTarHeader(await firstBlock(stream))) return undefined;
  return compression ? `tar+${compression}` : 'tar';
}

/** The compression `kind` is read through (undefined for a plain tar). */
export function archiveCompression(kind: ArchiveKind): Compression | undefined {
  switch (kind) {
    case 'tar':
      return undefined;
    case 'tar+gzip':
      return 'gzip';
    case 'tar+bzip2':
      return 'bzip2';
    case 'tar+xz':
      return 'xz';
    case 'tar+zstd':
      return 'zstd';
  }
}

async function detectCompression(path: string): Promise<Compression | undefined> {
  const fh = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(6), 0, 6, 0);
    const head = buffer.subarray(0, bytesRead);
    return MAGIC.find(
      ([, magic]) => head.length >= magic.length && head.subarray(0, magic.length).equals(magic),
    )?.[0];
  } finally {
    await fh.close();
  }
}

/**
 * Up to the first 512 bytes of `stream`, which is destroyed after. A stream that fails to
 * decompress gives what it gave before failing, as Go's tar reader sees only an error there;
 * a missing program is not such a failure.
 */
async function firstBlock(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= BLOCK) break;
    }
  } catch (error) {
    if (error instanceof BuilderError) throw error;
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, BLOCK);
}

/**
 * Whether `block` is a tar header Go's archive/tar accepts: 512 bytes whose checksum field (octal,
 * padded with spaces or NULs) equals the sum of its bytes with that field read as spaces, unsigned
 * or signed (old tars). An all-zero block (an empty archive's end) fails the test.
 */
function isTarHeader(block: Buffer): boolean {
  if (block.length < BLOCK) return false;
  const field = block.toString('latin1', 148, 156).replace(/^[ \0]+|[ \0]+$/g, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += byte;
    signed += byte < 0x80 ? byte : byte - 0x100;
  }
  return stored === unsigned || stored === signed;
}
