import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { sha256Digest, type Digest } from '@kiln/oci';
import { getCacheRecord, putCacheRecord } from './cache-records.js';
import { GZIP_BLOCK_BYTES, GZIP_POLICY, type GzipMemo } from './parallel-gzip.js';
import { blobPath, type StorePaths } from './store-paths.js';

/** Blobs of fewer members are not worth a record. */
const MIN_MEMBERS = 4;

/** What a member record holds; members of a blob are only reused under the same parameters. */
interface MemberRecord {
  readonly zlib: string;
  readonly level: number;
  readonly blockBytes: number;
  /** parallelGzip's rules for choosing each block's compression (GZIP_POLICY). */
  readonly policy: string;
  /**
   * In blob order: the sha256 (hex) of each member's input block, the member's length and the
   * CRC-32 its trailer holds (absent in records written before it was kept).
   */
  readonly members: readonly (readonly [string, number, number?])[];
}

/** A memo for one layer write: what it reuses from `previous`, and what it records for the next. */
export interface MemberMemo {
  readonly memo: GzipMemo;
  /** Records the members of the blob just written as `digest` (best effort). */
  save(digest: Digest): Promise<void>;
  /** Closes the previous blob. Idempotent. */
  close(): Promise<void>;
}

/**
 * Lets a layer write take gzip members from the blob of an earlier layer instead of compressing
 * again: parallelGzip cuts the tar into fixed 1 MiB blocks, each its own member, so a rebuild
 * whose tar is unchanged up to a point (and, as tar pads entries to 512 bytes, often after a
 * small edit too) has the same blocks. Each blob's members are listed in a cache record (by the
 * sha256 of their input blocks; no `sha256:` digest in it, so the record keeps no blob alive),
 * and a member is reused only when the record was made by the same zlib version, level, block
 * size and compression rules (GZIP_POLICY) — so the output is byte for byte what compressing would give — and the member's gzip
 * trailer (CRC-32 and length of its input) matches the block. Anything missing or unreadable
 * means compressing as usual.
 */
export async function gzipMemberMemo(
  paths: StorePaths,
  level: number,
  previous?: Digest,
): Promise<MemberMemo> {
  const found = new Map<string, { offset: number; length: number; crc?: number }>();
  let file: FileHandle | undefined;
  if (previous !== undefined) {
    const record = asRecord(await getCacheRecord(paths, recordKey(previous)).catch(() => undefined));
    if (
      record &&
      record.zlib === process.versions.zlib &&
      record.level === level &&
      record.blockBytes === GZIP_BLOCK_BYTES &&
      record.policy === GZIP_POLICY
    ) {
      file = await open(blobPath(paths, previous), 'r').catch(() => undefined);
      let offset = 0;
      for (const [hash, length, crc] of record.members) {
        if (!found.has(hash)) found.set(hash, { offset, length, ...(crc === undefined ? {} : { crc }) });
        offset += length;
      }
    }
  }
  const members: [string, number, number][] = [];
  return {
    memo: {
      async find(hash, block) {
        const at = found.get(hash);
        if (!file || !at || at.length < 18) return undefined;
        const member = Buffer.allocUnsafe(at.length);
        const { bytesRead } = await file
          .read(member, 0, at.length, at.offset)
          .catch(() => ({ bytesRead: -1 }));
        if (bytesRead !== at.length) return undefined;
        // RFC 1952 trailer: CRC-32 and size (mod 2^32) of the member's input, little-endian. The
        // record says which CRC the member made from this block (by its sha256) carries, so the
        // check that the bytes read are that member needs no CRC of the block (~0.4 ms per MiB).
        const trailerOk =
          member.readUInt32LE(at.length - 8) === (at.crc ?? crc32(block)) &&
          member.readUInt32LE(at.length - 4) === block.length % 2 ** 32;
        return trailerOk ? member : undefined;
      },
      add(hash, member) {
        members.push([hash, member.length, member.readUInt32LE(member.length - 8)]);
      },
    },
    async save(digest) {
      if (members.length < MIN_MEMBERS) return;
      const record: MemberRecord = {
        zlib: process.versions.zlib ?? '',
        level,
        blockBytes: GZIP_BLOCK_BYTES,
        policy: GZIP_POLICY,
        members,
      };
      await putCacheRecord(paths, recordKey(digest), record).catch(() => undefined);
    },
    async close() {
      const f = file;
      file = undefined;
      await f?.close();
    },
  };
}

function recordKey(blob: Digest): string {
  return sha256Digest(`gzip-members\0${blob}`).slice('sha256:'.length);
}

function asRecord(v: unknown): MemberRecord | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (
    typeof r.zlib !== 'string' ||
    typeof r.level !== 'number' ||
    typeof r.blockBytes !== 'number' ||
    typeof r.policy !== 'string'
  )
    return undefined;
  if (!Array.isArray(r.members)) return undefined;
  const ok = r.members.every(
    (m: unknown) =>
      Array.isArray(m) &&
      (m.length === 2 || (m.length === 3 && Number.isSafeInteger(m[2]))) &&
      typeof m[0] === 'string' &&
      /^[0-9a-f]{64}$/.test(m[0]) &&
      Number.isSafeInteger(m[1]),
  );
  return ok ? (r as unknown as MemberRecord) : undefined;
}
