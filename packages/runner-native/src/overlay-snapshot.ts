import { rm } from 'node:fs/promises';
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

  changes(): AsyncIterable<FsChange> {
    return upperChanges(this.upperDir);
  }

  async release(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
