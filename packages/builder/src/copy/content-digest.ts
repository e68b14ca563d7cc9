import { createHash, hash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { hashFiles } from '@kiln/runner-native';
import type { FileStamp, StatCache } from '../cache/stat-cache.js';
import type { CopyEntry } from './plan-copy.js';

/** Files up to this size are read in one synchronous call (see fileDigest). */
const SMALL_FILE_BYTES = 1024 * 1024;
/** contentDigests hashes its text in pieces of about this many characters. */
const HASH_BATCH_CHARS = 64 * 1024;
/** From this many files to hash on, they are hashed on two threads (a worker costs ~30 ms). */
const PARALLEL_MIN_FILES = 1000;

/**
 * A digest over what a COPY writes: each entry's path, type, mode, owner, link target and the
 * sha256 of its bytes — never mtimes, so touching a file does not invalidate the cache. File
 * digests come from `stats` when the file's stamp is unchanged since it was last hashed; an
 * entry's `stamp` (taken when it was planned) stands in for a fresh stat.
 */
export async function contentDigest(entries: readonly CopyEntry[], stats?: StatCache): Promise<string> {
  return (await contentDigests(entries, stats)).digest;
}

/** What {@link contentDigests} finds: the COPY's digest and what it is made of. */
export interface ContentDigests {
  readonly digest: string;
  /**
   * A short fingerprint of each entry (metadata and bytes) by path, to explain what changed: the
   * first 16 hex digits of its bytes' sha256 and a 32-bit FNV-1a of its metadata. Not a security
   * boundary (the COPY's digest is), so no sha256 per entry (~1.5 µs each, 20,000 per big COPY).
   */
  readonly files: Readonly<Record<string, string>>;
  /** The sha256 (hex) of each regular file's bytes, by entry path. */
  readonly bytes: ReadonlyMap<string, string>;
}

/** {@link contentDigest}, plus per-entry digests (see {@link ContentDigests}). */
export async function contentDigests(
  entries: readonly CopyEntry[],
  stats?: StatCache,
): Promise<ContentDigests> {
  const all = createHash('sha256');
  // A dictionary from the start: adding 20,000 keys to a `{}` first walks V8 through a hidden
  // class per key.
  const files = Object.create(null) as Record<string, string>;
  const bytes = new Map<string, string>();
  const known = await knownDigests(entries, stats);
  let batch = '';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as CopyEntry;
    const h = e.header;
    // JSON of [path, type, mode, uid, gid, linkname, size], without an array per entry.
    const meta = `[${JSON.stringify(h.path)},"${h.type}",${h.mode},${h.uid},${h.gid},${JSON.stringify(h.linkname ?? '')},${h.size}]`;
    const { source, stamp } = e;
    // A known digest is taken here without an await: a cached rebuild of a big context is mostly
    // this loop, and a promise per file is a good part of its cost.
    // An entry with a stamp was looked up in `stats` by knownDigests already: a second lookup
    // out of order would index every stored path (~7 ms for 20,000).
    const data = source
      ? (known[i] ?? (stamp ? await hashAndRemember(source, stamp, stats) : await fileDigest(source, stats)))
      : e.content
        ? hash('sha256', e.content)
        : '';
    // Hashed in batches: a native call per piece cost more than the hashing.
    batch += `${meta}${data}\n`;
    if (batch.length >= HASH_BATCH_CHARS) {
      all.update(batch);
      batch = '';
    }
    if (h.type === 'file' && data !== '') bytes.set(h.path, data);
    files[h.path] = `${data.slice(0, 16)}${fnv1a(meta)}`;
  }
  return { digest: all.update(batch).digest('hex'), files, bytes };
}

/**
 * The digests of the entries' files known without reading them one by one here, by entry index:
 * remembered by `stats` for an unchanged stamp, or, when many small files are not, hashed on two
 * threads at once (and remembered). The others are left to fileDigest.
 */
async function knownDigests(
  entries: readonly CopyEntry[],
  stats: StatCache | undefined,
): Promise<(string | undefined)[]> {
  const known = new Array<string | undefined>(entries.length);
  const missing: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const { source, stamp } = entries[i] as CopyEntry;
    if (!source || !stamp) continue;
    known[i] = stats?.get(source, stamp);
    if (known[i] === undefined && stamp.size <= SMALL_FILE_BYTES) missing.push(i);
  }
  if (missing.length < PARALLEL_MIN_FILES) return known;
  const paths = missing.map((i) => (entries[i] as CopyEntry).source as string);
  const digests = await hashFiles(paths);
  missing.forEach((i, n) => {
    const digest = digests[n];
    const { source, stamp } = entries[i] as CopyEntry;
    if (digest === undefined || !source || !stamp) return;
    known[i] = digest;
    stats?.set(source, stamp, digest);
  });
  return known;
}

/**
 * The sha256 (hex) of the regular file at `path`, remembered in `stats` by its stamp: `stamp`
 * when the caller has just statted the file, else a fresh lstat.
 */
export async function fileDigest(path: string, stats?: StatCache, stamp?: FileStamp): Promise<string> {
  const st = stamp ?? lstatSync(path);
  const known = stats?.get(path, st);
  return known ?? hashAndRemember(path, st, stats);
}

/** The sha256 (hex) of the regular file at `path` (stamped `st`), remembered in `stats`. */
async function hashAndRemember(path: string, st: FileStamp, stats?: StatCache): Promise<string> {
  const hash = createHash('sha256');
  // Small files synchronously: async fs costs a thread-pool round trip per call, which
  // dominates contexts of many small files; large files stream.
  if (st.size <= SMALL_FILE_BYTES) hash.update(readFileSync(path));
  else await pipeline(createReadStream(path), hash);
  const digest = hash.digest('hex');
  stats?.set(path, st, digest);
  return digest;
}

/** FNV-1a (32 bits) of `text`'s UTF-16 code units, as 8 hex digits. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
