import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes entries of each `dir` whose name matches `pattern` with the owner's pid as group 1,
 * when that process no longer exists (checked through /proc of this pid namespace).
 */
export async function removeOrphans(places: readonly { dir: string; pattern: RegExp }[]): Promise<string[]> {
  const removed: string[] = [];
  for (const { dir, pattern } of places) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = pattern.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid) continue;
      const alive = await stat(`/proc/${pid}`).then(
        () => true,
        () => false,
      );
      if (alive) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}
