import { rm } from 'node:fs/promises';
import type { FsChange } from '@kiln/oci';
import { copyChanges, type TreeRecord } from './copy-changes.js';
import type { CopySnapshotLayout } from './snapshot.js';

/** A Snapshot on a plain copy of its layers in `dir`, which `release()` removes. */
export class CopySnapshot implements CopySnapshotLayout {
  readonly kind = 'copy';
  constructor(
    readonly rootfsDir: string,
    readonly workDir: string,
    private readonly dir: string,
    private readonly before: TreeRecord,
  ) {}

  changes(): AsyncIterable<FsChange> {
    return copyChanges(this.rootfsDir, this.before);
  }

  async release(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
