import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { StatCache } from '../cache/stat-cache.js';
import type { CopyEntry } from './plan-copy.js';

/** Files up to this size are read in one synchronous call (see fileDigest). */
const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * A digest over what a COPY writes: each entry's path, type, mode, owner, link target and the
 * sha256 of its bytes — never mtimes, so touching a file does not invalidate the cache. File
 * digests come from `stats` when the file's stat is unchanged since it was last hashed.
 */
export async function contentDigest(entries: readonly CopyEntry[], stats?: StatCache): Promise<string> {
  return (await contentDigests(entries, stats)).digest;
}

/** What {@link contentDigests} finds: the COPY's digest and what it is made of. */
export interface ContentDigests {
  readonly digest: string;
  /** A short digest of each entry (metadata and bytes) by path, to explain what changed. */
  readonly files: Readonly<Record<string, string>>;
  /** The sha256 (hex) of each regular file's bytes, by entry path. */
  readonly data: ReadonlyMap<string, string>;
}

/** {@link contentDigest}, plus per-entry digests (see {@link ContentDigests}). */
export async function contentDigests(
  entries: readonly CopyEntry[],
  stats?: StatCache,
): Promise<ContentDigests> {
  const all = createHash('sha256');
  const files: Record<string, string> = {};
  const byPath = new Map<string, string>();
  for (const e of entries) {
    const h = e.header;
    const meta = JSON.stringify([h.path, h.type, h.mode, h.uid, h.gid, h.linkname ?? '', h.size]);
    const data = e.source
      ? await fileDigest(e.source, stats)
      : e.content
        ? createHash('sha256').update(e.content).digest('hex')
        : '';
    if (data !== '') byPath.set(h.path, data);
    all.update(meta).update(data).update('\n');
    files[h.path] = createHash('sha256').update(meta).update(data).digest('hex').slice(0, 16);
  }
  return { digest: all.digest('hex'), files, data: byPath };
}

export async function fileDigest(path: string, stats?: StatCache): Promise<string> {
  const st = lstatSync(path);
  const known = stats?.get(path, st);
  if (known) return known;
  const hash = createHash('sha256');
  // Small files synchronously: async fs costs a thread-pool round trip per call, which
  // dominates contexts of many small files; large files stream.
  if (st.size <= SMALL_FILE_BYTES) hash.update(readFileSync(path));
  else await pipeline(createReadStream(path), hash);
  const digest = hash.digest('hex');
  stats?.set(path, st, digest);
  return digest;
}
