import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive, tempNamePid } from './temp-name.js';

const FOREIGN_TEMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes temp files and scratch directories in `tmpDir` that no live writer owns: those named
 * by a pid that no longer exists, and unrecognised names older than a day. Live writers' files
 * (another process using the same store) are left alone. Returns the names removed.
 */
export async function removeStaleTempFiles(tmpDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpDir)) {
    const path = join(tmpDir, name);
    const pid = tempNamePid(name);
    let stale = pid !== undefined && pid !== process.pid && !isProcessAlive(pid);
    if (pid === undefined) {
      const st = await stat(path).catch(() => undefined);
      stale = st !== undefined && Date.now() - st.mtimeMs > FOREIGN_TEMP_MAX_AGE_MS;
    }
    if (stale) {
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
