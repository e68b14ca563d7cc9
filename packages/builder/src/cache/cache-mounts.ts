import { mkdtemp, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { layerChangesFromDirectory, type Layer, type LayerStore } from '@kiln/layer-store';
import { extractLayer } from '@kiln/runner-native';
import type { ImportedCache } from './imported-cache.js';

/**
 * The `RUN --mount=type=cache` directories of one build, for `--cache-to …,mounts=true` and
 * `--cache-from`: which ids the build's RUN steps name (their contents are exported), and seeding
 * an empty local cache directory from an imported cache before its first use (once per id and
 * build).
 *
 * Only a directory that is empty is seeded: a warm local cache is never replaced by an older
 * remote one. Seeding extracts into a temporary directory beside it and renames it into place,
 * so a killed build leaves either the empty directory or the whole contents.
 */
export class CacheMounts {
  private readonly used = new Map<string, string>();
  private readonly seeds = new Map<string, Promise<void>>();

  constructor(private readonly imported: ImportedCache | undefined) {}

  /** Fills the cache directory `dir` of mount `id` from the imported cache if it is empty. */
  seed(id: string, dir: string, store: LayerStore, signal: AbortSignal): Promise<void> {
    if (!this.imported?.mountIds.includes(id)) return Promise.resolve();
    let seeding = this.seeds.get(id);
    if (!seeding) {
      seeding = this.fill(id, dir, store, signal);
      this.seeds.set(id, seeding);
    }
    return seeding;
  }

  /** Records that a RUN of this build (run or found in the cache) names mount `id`, kept at `dir`. */
  note(id: string, dir: string): void {
    this.used.set(id, dir);
  }

  /**
   * The mounts to export, by id: each directory a RUN of this build names, written as a layer now
   * unless it is empty (a fresh runner whose steps all hit the cache never filled it); then, for
   * every id left, the imported layer, as it was imported (so such a build does not drop a mount
   * from the cache it exports).
   */
  async layers(
    store: LayerStore,
    signal: AbortSignal,
    opts: { readonly sourceDateEpoch?: number } = {},
  ): Promise<Map<string, Layer>> {
    const layers = new Map<string, Layer>();
    for (const [id, dir] of [...this.used].sort(([a], [b]) => (a < b ? -1 : 1)))
      if ((await readdir(dir)).length > 0)
        layers.set(id, await store.writeLayer(layerChangesFromDirectory(dir), opts));
    for (const id of this.imported?.mountIds ?? []) {
      if (layers.has(id)) continue;
      const layer = await this.imported?.mountLayer(id, store, signal);
      if (layer) layers.set(id, layer);
    }
    return layers;
  }

  private async fill(id: string, dir: string, store: LayerStore, signal: AbortSignal): Promise<void> {
    if ((await readdir(dir)).length > 0) return;
    const layer = await this.imported?.mountLayer(id, store, signal);
    if (!layer) return;
    const tmp = await mkdtemp(join(dirname(dir), `.seed-${basename(dir)}-`));
    try {
      const blob = await store.openBlob(layer.descriptor.digest, layer.descriptor.size);
      const tar = /gzip$/.test(layer.descriptor.mediaType) ? blob.pipe(createGunzip()) : blob;
      blob.on('error', (err: Error) => tar.destroy(err));
      await extractLayer(tar, tmp);
      // Another build may have used (and filled) the directory meanwhile: then keep its contents.
      const replaced = await rmdir(dir).then(
        () => true,
        () => false,
      );
      if (replaced) await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
