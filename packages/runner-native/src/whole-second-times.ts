import { lstatSync, lutimesSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const NS_PER_S = 1_000_000_000n;

/**
 * Gives every entry below `dir` (not `dir` itself) the times a layer tar records and unpacking
 * restores: mtime in whole seconds (rounded down, never before the epoch), atime equal to it.
 * Symlinks are never followed. Synchronous on purpose, like the other tree walks here: one
 * thread-pool round trip per entry would cost more than the calls.
 */
export function wholeSecondTimes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path, { bigint: true });
    const seconds = st.mtimeNs < 0n ? 0n : st.mtimeNs / NS_PER_S;
    if (st.mtimeNs !== seconds * NS_PER_S || st.atimeNs !== seconds * NS_PER_S) {
      const t = Number(seconds);
      lutimesSync(path, t, t);
    }
    if (st.isDirectory()) wholeSecondTimes(path);
  }
}
