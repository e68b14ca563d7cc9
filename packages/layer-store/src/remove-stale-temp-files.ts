import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, tempNamePid } from './temp-name.js';

const FOREIGN_TEMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes temp files and scratch directories in `tmpDir` that no live writer owns: those named
 * by a pid that no longer exists, and unrecognised names older than a day. Live writers' files
 * (another process using the same store) are left alone. Returns the names removed.
 * Synchronous: it runs on every store open, and the directory is nearly always empty.
 */
export function removeStaleTempFiles(tmpDir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpDir)) {
    const path = join(tmpDir, name);
    const pid = tempNamePid(name);
    let stale = pid !== undefined && pid !== process.pid && !isProcessAlive(pid);
    if (pid === undefined) {
      const st = statSync(path, { throwIfNoEntry: false });
      stale = st !== undefined && Date.now() - st.mtimeMs > FOREIGN_TEMP_MAX_AGE_MS;
    }
    if (stale) {
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
