import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The largest record read back; a layer with more opaque directories than fit is walked again. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Temp files of {@link saveOpaqueRecord} are `.tmp-<pid>-<random>` (for `removeOrphans`). */
export const OPAQUE_TEMP_PATTERN = /^\.tmp-(\d+)-/;

/**
 * The opaque directories recorded in `file` by {@link saveOpaqueRecord}, or undefined when there
 * is no usable record (missing, too large, not what this module writes): the caller walks the
 * layer again. Never throws.
 */
export async function loadOpaqueRecord(file: string): Promise<Set<string> | undefined> {
  try {
    const text = await readFile(file);
    if (text.length > MAX_RECORD_BYTES) return undefined;
    const parsed: unknown = JSON.parse(text.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { opaque } = parsed as { opaque?: unknown };
    if (!Array.isArray(opaque) || !opaque.every((p): p is string => typeof p === 'string')) return undefined;
    return new Set(opaque);
  } catch {
    return undefined;
  }
}

/**
 * Records `opaque` (the opaque directories of one unpacked layer) as `dir/name`: a temp file in
 * `dir`, fsync, then rename, so a record that exists is whole (an empty file after a power loss
 * would read as "no opaque directories", silently wrong). Best effort: a record that cannot be
 * written only means the next process walks the layer again, so failures are swallowed.
 */
export async function saveOpaqueRecord(
  dir: string,
  name: string,
  opaque: ReadonlySet<string>,
): Promise<void> {
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(JSON.stringify({ opaque: [...opaque].sort() }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, name));
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}
