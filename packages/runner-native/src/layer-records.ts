import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
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
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(JSON.stringify(value));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, name));
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}
