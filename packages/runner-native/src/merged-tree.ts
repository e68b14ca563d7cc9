import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import { locatePath, type LayerView, type LocatedEntry } from './lookup-path.js';
import { openLayerViews } from './layer-views.js';
import type { Snapshotter } from './snapshotter.js';

/**
 * A read-only view of an image's filesystem as overlayfs would merge its unpacked layers, read
 * without mounting anything (used by `COPY --from`). Paths are root-relative.
 */
export class MergedTree {
  private constructor(private readonly layers: readonly LayerView[]) {}

  /** The view of `lowers` (bottom → top), which must all be unpacked in `snapshotter`. */
  static async open(snapshotter: Snapshotter, lowers: readonly Digest[]): Promise<MergedTree> {
    return new MergedTree(await openLayerViews(snapshotter, lowers));
  }

  /**
   * The entry at `path` and the host file behind it; symlinks in parent components are followed
   * inside the root, the last component is not. Undefined when absent.
   */
  entry(path: string): Promise<LocatedEntry | undefined> {
    return locatePath(this.layers, path);
  }

  /**
   * The names in directory `path` of the merged view, sorted: the union over layers from the top
   * down to the first layer where the directory is opaque or not a directory, minus whiteouts.
   */
  async list(path: string): Promise<string[]> {
    const dir = await this.entry(path);
    if (dir?.header.type !== 'directory') return [];
    const resolved = dir.header.path;
    const names = new Set<string>();
    const hidden = new Set<string>();
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      if (layer === undefined) continue;
      const here = await locatePath([layer], resolved);
      if (here === undefined) continue;
      if (here.header.type !== 'directory') break;
      for (const name of await readdir(join(layer.dir, resolved))) {
        if (names.has(name) || hidden.has(name)) continue;
        const e = await locatePath([layer], resolved === '' ? name : `${resolved}/${name}`);
        if (e === undefined) hidden.add(name);
        else names.add(name);
      }
      if (layer.opaque.has(resolved === '' ? '.' : resolved)) break;
    }
    return [...names].sort();
  }
}
