import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * What tells a file's content apart cheaply, as `lstat` reports it (an `fs.Stats` is one): a file
 * whose stamp is unchanged is taken to hold the same bytes.
 */
export interface FileStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

interface Row extends FileStamp {
  readonly digest: string;
}

const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** A file changed this recently may change again within the same timestamp: never trust it. */
const RACY_MS = 2000;
const FILE_NAME = 'stat-cache.bin';
/** The JSON file older versions kept; removed when the binary file is first written. */
const OLD_FILE_NAME = 'stat-cache.json';
const MAGIC = Buffer.from('KILNSC01');
/**
 * A record: ino, size, mtimeMs, ctimeMs (f64 LE), the sha256 (32 bytes), path length (u32 LE),
 * the path (UTF-8), zeros up to a multiple of 8 bytes (so the numbers read as a Float64Array).
 */
const FIXED_BYTES = 4 * 8 + 32 + 4;
const DIGEST_AT = 32;
const PATH_LENGTH_AT = 64;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Content digests of host files, remembered by (path, inode, size, mtime, ctime) across builds,
 * so re-checking an unchanged 20,000-file context costs a stat per file, not a hash. A file whose
 * stamp differs in any field is hashed again. Kept in `<root>/kiln/stat-cache.bin` as binary
 * records, indexed on first use (a build without context files pays only the read) and written
 * only when a digest was added; loading 20,000 of them costs a path decode each, not a JSON parse. A missing, truncated or corrupt file just means an empty
 * cache. Concurrent builds may overwrite each other's saves, which only costs re-hashing.
 */
export class StatCache {
  private changed = false;
  /** Whether `stored` is well formed (checked on first use; a malformed file counts as empty). */
  private valid: boolean | undefined;
  /**
   * `stored` as doubles, to compare stamps without a call per field. In host byte order: on a
   * big-endian host nothing matches, which costs re-hashing, never a wrong digest.
   */
  private numbers: Float64Array = new Float64Array(0);
  /** Where the record after the last one found starts: the next lookup tries it first. */
  private cursor = MAGIC.length;
  /** Offsets of the stored records by path, built when a lookup is not the next record. */
  private index: Map<string, number> | undefined;
  /** Rows set during this build; they take precedence over `stored`. */
  private readonly added = new Map<string, Row>();

  private constructor(
    private readonly file: string,
    private readonly stored: Buffer,
  ) {}

  static async load(root: string): Promise<StatCache> {
    const file = join(root, 'kiln', FILE_NAME);
    let stored = Buffer.alloc(0);
    try {
      // One synchronous read: the build waits for it, and a thread-pool read is four round trips.
      const data = readFileSync(file);
      if (data.length <= MAX_FILE_BYTES) stored = data;
    } catch {
      // Absent or unreadable: start empty.
    }
    return new StatCache(file, stored);
  }

  /** The remembered digest of `path` if its stamp is unchanged. */
  get(path: string, st: FileStamp): string | undefined {
    const row = this.added.size > 0 ? this.added.get(path) : undefined;
    if (row) return sameStamp(row, st) ? row.digest : undefined;
    const at = this.find(path);
    if (at === undefined) return undefined;
    const n = this.numbers;
    const i = at / 8;
    const same =
      n[i] === st.ino && n[i + 1] === st.size && n[i + 2] === st.mtimeMs && n[i + 3] === st.ctimeMs;
    return same ? this.stored.toString('hex', at + DIGEST_AT, at + DIGEST_AT + 32) : undefined;
  }

  /**
   * Remembers `digest` (sha256, 64 lowercase hex; anything else is not remembered) for `path` at
   * stamp `st`, unless the file changed too recently to trust.
   */
  set(path: string, st: FileStamp, digest: string): void {
    if (!SHA256_HEX.test(digest)) return;
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < RACY_MS) return;
    this.added.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, digest });
    this.changed = true;
  }

  /** Writes the cache atomically (temp file, then rename) if anything was added. */
  async save(): Promise<void> {
    if (!this.changed) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, this.serialize());
    renameSync(tmp, this.file);
    rmSync(join(dirname(this.file), OLD_FILE_NAME), { force: true });
    this.changed = false;
  }

  /**
   * The offset of the stored record of `path`. Records are kept in the order builds looked them
   * up, and a rebuild walks its context in the same order: the record after the last one found
   * is tried first, and only a lookup out of order pays for an index of every path.
   */
  private find(path: string): number | undefined {
    if (!this.check()) return undefined;
    const b = this.stored;
    const next = this.cursor;
    // Decoded as latin1, a cheaper copy than UTF-8 that gives the same string for ASCII paths;
    // any other path fails this test and is found through the index.
    if (next < b.length && b.toString('latin1', next + FIXED_BYTES, this.end(next)) === path) {
      this.cursor = padded(this.end(next));
      return next;
    }
    this.index ??= this.buildIndex();
    const at = this.index.get(path);
    if (at !== undefined) this.cursor = padded(this.end(at));
    return at;
  }

  /** Where the path of the record at `at` ends. */
  private end(at: number): number {
    return at + FIXED_BYTES + this.stored.readUInt32LE(at + PATH_LENGTH_AT);
  }

  /** Whether `stored` is well formed, checked once: records that end exactly at its end. */
  private check(): boolean {
    if (this.valid !== undefined) return this.valid;
    const b = this.stored;
    let ok = b.length >= MAGIC.length && b.length % 8 === 0 && b.subarray(0, MAGIC.length).equals(MAGIC);
    let at = MAGIC.length;
    while (ok && at < b.length) {
      ok = at + FIXED_BYTES <= b.length && this.end(at) <= b.length;
      if (ok) at = padded(this.end(at));
    }
    this.valid = ok && at === b.length;
    if (this.valid) {
      // An aligned copy when the file's buffer is not (a Float64Array needs 8-byte alignment).
      const aligned = b.byteOffset % 8 === 0 ? b : new Uint8Array(b);
      this.numbers = new Float64Array(aligned.buffer, aligned.byteOffset, b.length / 8);
    }
    return this.valid;
  }

  private buildIndex(): Map<string, number> {
    const index = new Map<string, number>();
    const b = this.stored;
    for (let at = MAGIC.length; at < b.length; at = padded(this.end(at)))
      index.set(b.toString('utf8', at + FIXED_BYTES, this.end(at)), at);
    return index;
  }

  /** The stored records (a changed one in its place, so the order of lookups holds), then new ones. */
  private serialize(): Buffer {
    const b = this.stored;
    const rows: (number | [string, Row])[] = [];
    const written = new Set<string>();
    if (this.check()) {
      for (let at = MAGIC.length; at < b.length; at = padded(this.end(at))) {
        const path = b.toString('utf8', at + FIXED_BYTES, this.end(at));
        const row = this.added.get(path);
        if (row) written.add(path);
        rows.push(row ? [path, row] : at);
      }
    }
    for (const entry of this.added) if (!written.has(entry[0])) rows.push(entry);
    let size = MAGIC.length;
    for (const r of rows)
      size += typeof r === 'number' ? padded(this.end(r)) - r : padded(FIXED_BYTES + Buffer.byteLength(r[0]));
    const out = Buffer.alloc(size);
    MAGIC.copy(out, 0);
    let at = MAGIC.length;
    for (const r of rows) {
      if (typeof r === 'number') {
        at += b.copy(out, at, r, padded(this.end(r)));
        continue;
      }
      const [path, row] = r;
      out.writeDoubleLE(row.ino, at);
      out.writeDoubleLE(row.size, at + 8);
      out.writeDoubleLE(row.mtimeMs, at + 16);
      out.writeDoubleLE(row.ctimeMs, at + 24);
      out.write(row.digest, at + DIGEST_AT, 32, 'hex');
      const length = out.write(path, at + FIXED_BYTES, 'utf8');
      out.writeUInt32LE(length, at + PATH_LENGTH_AT);
      at += padded(FIXED_BYTES + length);
    }
    return out;
  }
}

/** `n` rounded up to a multiple of 8. */
function padded(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Whether two stamps describe the same, unchanged file. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
