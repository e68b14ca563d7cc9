import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Marks a build as running on a store (`kiln/builds/<pid>-<random>`), so `prune` does not
 * collect blobs a build has written but not yet tagged or recorded. Returns the release function.
 * Synchronous calls (microseconds each, where a thread-pool round trip is ~0.1 ms of every build).
 */
export async function registerBuild(root: string): Promise<() => Promise<void>> {
  const dir = join(root, 'kiln', 'builds');
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  writeFileSync(marker, '');
  return async () => rmSync(marker, { force: true });
}

/** The number of builds running on the store; markers of killed processes are removed on the way. */
export async function countLiveBuilds(root: string): Promise<number> {
  const dir = join(root, 'kiln', 'builds');
  let live = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = /^(\d+)-/.exec(name)?.[1];
    const alive =
      pid !== undefined &&
      (await stat(`/proc/${pid}`).then(
        () => true,
        () => false,
      ));
    if (alive) live++;
    else await rm(join(dir, name), { force: true });
  }
  return live;
}
