import type { TreeReads } from '@kiln/runner-native';

/**
 * What a COPY read of the build context through {@link contextTree}: the paths it lstat'ed, the
 * directories it walked and those it left out of a walk. A stamp of these (treeStamp) unchanged
 * means the COPY would read the same again. `stampable` turns false when a read depended on
 * something a stamp cannot cover, such as a symlink resolved on the way to a directory.
 */
export class ContextReads implements TreeReads {
  private readonly stats = new Set<string>();
  private readonly walks = new Set<string>();
  private readonly prunes = new Set<string>();
  private covered = true;

  get stat(): readonly string[] {
    return [...this.stats];
  }

  get walk(): readonly string[] {
    return [...this.walks];
  }

  get prune(): readonly string[] {
    return [...this.prunes];
  }

  /** Whether a stamp of these reads stands for everything read. */
  get stampable(): boolean {
    return this.covered;
  }

  statted(path: string): void {
    this.stats.add(path);
  }

  walked(path: string): void {
    this.walks.add(path);
  }

  pruned(path: string): void {
    this.prunes.add(path);
  }

  uncovered(): void {
    this.covered = false;
  }
}
