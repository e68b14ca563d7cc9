import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { CopyEntry } from './plan-copy.js';

/**
 * A digest over what a COPY writes: each entry's path, type, mode, owner, link target and the
 * sha256 of its bytes — never mtimes, so touching a file does not invalidate the cache.
 */
export async function contentDigest(entries: readonly CopyEntry[]): Promise<string> {
  const all = createHash('sha256');
  for (const e of entries) {
    const h = e.header;
    all.update(JSON.stringify([h.path, h.type, h.mode, h.uid, h.gid, h.linkname ?? '', h.size]));
    if (e.source) {
      const file = createHash('sha256');
      await pipeline(createReadStream(e.source), file);
      all.update(file.digest('hex'));
    }
    all.update('\n');
  }
  return all.digest('hex');
}
