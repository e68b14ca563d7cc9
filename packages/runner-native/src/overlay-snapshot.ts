import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsChange } from '@kiln/oci';
import type { OverlaySnapshotLayout } from './snapshot.js';
import { upperChanges } from './upper-changes.js';

/** A Snapshot whose upper and work dirs live together in `dir`, which `release()` removes. */
export class OverlaySnapshot implements OverlaySnapshotLayout {
  readonly kind = 'overlay';
  constructor(
    readonly lowerDirs: readonly string[],
    readonly upperDir: string,
    readonly workDir: string,
    private readonly dir: string,
  ) {}

  /** The upper dir's opaque directories, as the last full read of `changes()` found them. */
  opaqueFound: ReadonlySet<string> = new Set();

  changes(): AsyncIterable<FsChange> {
    return upperChanges(this.upperDir, (facts) => {
      this.opaqueFound = facts.opaque;
    });
  }

  async release(): Promise<void> {
    // A step that changed nothing leaves only empty dirs (upper, work and overlayfs's work/work):
    // rmdir them, independent ones at the same time, instead of the recursive removal's longer
    // chain of round trips (each rmdir takes 0.1-0.3 ms on ext4, so none runs on the main
    // thread). Anything else (ENOTEMPTY, ENOENT after an earlier release) takes the general path.
    const emptied = await Promise.allSettled([
      rmdir(this.upperDir),
      rmdir(join(this.workDir, 'work')).then(() => rmdir(this.workDir)),
    ]);
    if (emptied.every((r) => r.status === 'fulfilled')) {
      const done = await rmdir(this.dir).then(
        () => true,
        () => false,
      );
      if (done) return;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
