import { randomBytes } from 'node:crypto';
import { closeSync, fsync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The largest record read back; a bigger one is treated as absent. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Temp files of {@link saveLayerRecord} are `.tmp-<pid>-<random>` (for `removeOrphans`). */
export const RECORD_TEMP_PATTERN = /^\.tmp-(\d+)-/;

/**
 * The JSON value recorded in `file` by {@link saveLayerRecord}, or undefined when there is no
 * usable record (missing, too large, not JSON). Never throws: a record only saves work, so the
 * caller falls back to doing that work.
 */
export async function loadLayerRecord(file: string): Promise<unknown> {
  try {
    const text = await readFile(file);
    if (text.length > MAX_RECORD_BYTES) return undefined;
    return JSON.parse(text.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Records `value` as JSON in `dir/name`: a temp file in `dir`, fsync, then rename, so a record
 * that exists is whole (an empty file after a power loss would read as a wrong, empty record).
 * Best effort: a record that cannot be written only means work is done again later, so failures
 * are swallowed.
 */
export async function saveLayerRecord(dir: string, name: string, value: unknown): Promise<void> {
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    // Synchronous but for the fsync: microseconds each, where a thread-pool round trip costs
    // ~0.1 ms on the critical path of a layer's commit.
    mkdirSync(dir, { recursive: true });
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      const bytes = Buffer.from(JSON.stringify(value));
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
      await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Best effort, as the record itself.
    }
  }
}
