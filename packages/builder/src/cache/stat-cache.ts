import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

interface Row {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly digest: string;
}

const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** A file changed this recently may change again within the same timestamp: never trust it. */
const RACY_MS = 2000;

/**
 * Content digests of host files, remembered by (path, inode, size, mtime, ctime) across builds,
 * so re-checking an unchanged 20,000-file context costs a stat per file, not a hash. A file whose
 * stat differs in any field is hashed again. Kept in `<root>/kiln/stat-cache.json`; a missing or
 * corrupt file just means an empty cache. Concurrent builds may overwrite each other's saves,
 * which only costs re-hashing.
 */
export class StatCache {
  private changed = false;
  private constructor(
    private readonly file: string,
    private readonly rows: Map<string, Row>,
  ) {}

  static async load(root: string): Promise<StatCache> {
    const file = join(root, 'kiln', 'stat-cache.json');
    const rows = new Map<string, Row>();
    try {
      const text = await readFile(file, 'utf8');
      if (text.length <= MAX_FILE_BYTES) {
        const data = JSON.parse(text) as unknown;
        if (data && typeof data === 'object') {
          for (const [path, row] of Object.entries(data as Record<string, unknown>)) {
            if (isRow(row)) rows.set(path, row);
          }
        }
      }
    } catch {
      // Absent or unreadable: start empty.
    }
    return new StatCache(file, rows);
  }

  /** The remembered digest of `path` if its stat is unchanged. */
  get(path: string, st: Stats): string | undefined {
    const row = this.rows.get(path);
    if (!row) return undefined;
    const same =
      row.ino === st.ino && row.size === st.size && row.mtimeMs === st.mtimeMs && row.ctimeMs === st.ctimeMs;
    return same ? row.digest : undefined;
  }

  set(path: string, st: Stats, digest: string): void {
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < RACY_MS) return;
    this.rows.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, digest });
    this.changed = true;
  }

  /** Writes the cache atomically (temp file, then rename) if anything was added. */
  async save(): Promise<void> {
    if (!this.changed) return;
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.rows)));
    await rename(tmp, this.file);
    this.changed = false;
  }
}

function isRow(v: unknown): v is Row {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    ['ino', 'size', 'mtimeMs', 'ctimeMs'].every((k) => typeof r[k] === 'number') &&
    typeof r.digest === 'string'
  );
}
