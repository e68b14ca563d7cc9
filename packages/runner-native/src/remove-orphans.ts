import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Removes entries of each `dir` whose name matches `pattern` with the owner's pid as group 1,
 * when that process no longer exists (checked through /proc of this pid namespace).
 * Synchronous calls: this runs at the start of every build, over directories of names that
 * seldom match, where each thread-pool round trip (~0.1 ms) would be most of the cost.
 */
export async function removeOrphans(places: readonly { dir: string; pattern: RegExp }[]): Promise<string[]> {
  const removed: string[] = [];
  for (const { dir, pattern } of places) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // Absent: nothing to remove.
    }
    for (const name of names) {
      const pid = pattern.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid) continue;
      if (statSync(`/proc/${pid}`, { throwIfNoEntry: false }) !== undefined) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}
