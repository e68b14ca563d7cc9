import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest, FsChange } from '@kiln/oci';
import { isWhiteout } from './header-from-stats.js';
import { openLayerViews } from './layer-views.js';
import { locatePath, type LayerView } from './lookup-path.js';
import type { Snapshotter } from './snapshotter.js';

/**
 * The one changeset that turns the merged filesystem of `lowers.slice(0, base)` into that of all
 * `lowers` (bottom → top, all unpacked in `snapshotter`, else LAYER_MISSING): what
 * `docker build --squash` puts in its single layer. Only paths the upper layers touch are visited.
 * An entry the final tree takes from an upper layer is an upsert (files read lazily from that
 * layer); a base entry the upper layers removed is a delete; a base directory they cut off
 * (whiteout, replaced by a non-directory, or opaque) and that exists again at the end is marked
 * opaque. Anything created and removed within the upper layers leaves no trace. Files sharing a
 * host inode (hardlinks made within one layer) become `link` entries to the first name met.
 * Symlinks are never followed: only real directories of each layer are descended into.
 */
export async function* squashChanges(
  snapshotter: Snapshotter,
  lowers: readonly Digest[],
  base: number,
): AsyncGenerator<FsChange> {
  const all = await openLayerViews(snapshotter, lowers);
  const walk = new SquashWalk(all, all.slice(0, base));
  yield* walk.dir('', all.slice(base), base > 0);
}

class SquashWalk {
  private readonly firstNames = new Map<string, string>();

  constructor(
    private readonly all: readonly LayerView[],
    private readonly base: readonly LayerView[],
  ) {}

  /**
   * The changes below `dir`, a directory of the final tree. `uppers`: the upper layers in which
   * `dir` is a real directory (whose entries are the candidates). `baseLive`: the base's
   * directory at `dir` still shows through, so its removed entries need whiteouts.
   */
  async *dir(dir: string, uppers: readonly LayerView[], baseLive: boolean): AsyncGenerator<FsChange> {
    const names = new Set<string>();
    for (const layer of uppers) for (const name of await readdir(join(layer.dir, dir))) names.add(name);
    for (const name of [...names].sort()) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const found = await locatePath(this.all, path);
      if (found === undefined) {
        if (baseLive && (await locatePath(this.base, path)) !== undefined) yield { kind: 'delete', path };
        continue;
      }
      const provider = uppers.find((layer) => found.hostPath === join(layer.dir, path));
      // Taken from the base: the upper layers left it as it was.
      if (provider === undefined) continue;
      const { header, hostPath } = found;
      if (header.type === 'directory') {
        const stats = await Promise.all(uppers.map((layer) => lstatOrUndefined(join(layer.dir, path))));
        const cut = uppers.some((layer, i) => {
          const st = stats[i];
          return st !== undefined && (isWhiteout(st) || !st.isDirectory() || layer.opaque.has(path));
        });
        const baseDir = baseLive && (await locatePath(this.base, path))?.header.type === 'directory';
        yield { kind: 'upsert', header };
        if (baseDir && cut) yield { kind: 'opaque', path };
        const below = uppers.filter((_, i) => stats[i]?.isDirectory() === true);
        yield* this.dir(path, below, baseDir && !cut);
        continue;
      }
      if (header.type !== 'file') {
        yield { kind: 'upsert', header };
        continue;
      }
      const st = await lstat(hostPath, { bigint: true });
      if (st.nlink > 1n) {
        const inode = `${st.dev}:${st.ino}`;
        const first = this.firstNames.get(inode);
        if (first !== undefined) {
          yield { kind: 'upsert', header: { ...header, type: 'link', size: 0, linkname: first } };
          continue;
        }
        this.firstNames.set(inode, path);
      }
      yield { kind: 'upsert', header, open: () => createReadStream(hostPath), sourcePath: hostPath };
    }
  }
}

async function lstatOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
