import { join } from 'node:path';
import { LayerStore } from '@kiln/layer-store';
import { Snapshotter } from '@kiln/runner-native';
import { BuilderError } from './builder-error.js';
import { listContainers } from './containers/container-record.js';
import { countLiveBuilds } from './store/active-builds.js';

export interface PruneResult {
  readonly removedBlobs: number;
  readonly freedBytes: number;
  readonly removedCacheRecords: number;
  readonly removedUnpackedLayers: number;
  readonly removedLeftovers: number;
}

/**
 * Frees space in a store: blobs no tag or cache record reaches (`all` drops the build cache too;
 * `keepDuration` drops records unused for that long; `keepStorage`, or the store's `maxSize`
 * setting when lower, then evicts least-recently-used records until the blobs fit, tagged images
 * always kept), unpacked layers no remaining blob describes, and what killed builds left behind.
 * Containers (`kiln run`, kept or running) pin their image and its unpacked layers, even when no
 * tag names the image any more. Refuses while a build is running on the store, since its blobs
 * are not yet reachable and its snapshots are in use.
 */
export async function prune(options: {
  readonly root: string;
  readonly all?: boolean;
  /** Keep at most this many bytes of blobs, evicting least-recently-used cache records first. */
  readonly keepStorage?: number;
  /** Drop cache records not used for this many milliseconds. */
  readonly keepDuration?: number;
}): Promise<PruneResult> {
  const live = await countLiveBuilds(options.root);
  if (live > 0) {
    throw new BuilderError('STORE_BUSY', `${live} build(s) are running on ${options.root}`, {
      hint: 'run prune again when they have finished',
    });
  }
  const store = await LayerStore.open(options.root);
  const snapshotter = new Snapshotter(snapshotRoot(options.root));
  const leftovers = await snapshotter.removeStale();
  const containers = (await listContainers(options.root)).map((c) => c.config);
  const { maxSize } = await store.settings();
  const caps = [options.keepStorage, maxSize].filter((n): n is number => n !== undefined);
  const gc = await store.collectGarbage({
    dropCache: options.all ?? false,
    ...(options.keepDuration !== undefined ? { keepSince: Date.now() - options.keepDuration } : {}),
    ...(caps.length > 0 ? { keepBytes: Math.min(...caps) } : {}),
    pinnedImages: containers.map((c) => c.imageDigest),
  });
  const removedUnpackedLayers = await snapshotter.prune(
    new Set([...gc.keptDiffIds, ...containers.flatMap((c) => c.layers)]),
  );
  return {
    removedBlobs: gc.removedBlobs,
    freedBytes: gc.freedBytes,
    removedCacheRecords: gc.removedCacheRecords,
    removedUnpackedLayers,
    removedLeftovers: leftovers.length,
  };
}

/** Where a store's unpacked layers and snapshots live. */
export function snapshotRoot(root: string): string {
  return join(root, 'kiln', 'snapshots');
}
