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
  const all = createHash('sha256');
  for (const e of entries) {
    const h = e.header;
    all.update(JSON.stringify([h.path, h.type, h.mode, h.uid, h.gid, h.linkname ?? '', h.size]));
    if (e.source) all.update(await fileDigest(e.source, stats));
    else if (e.content) all.update(createHash('sha256').update(e.content).digest('hex'));
    all.update('\n');
  }
  return all.digest('hex');
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
