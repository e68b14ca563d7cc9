import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { directoryUsage, LayerStore, type StoreUsage, type Usage } from '@kiln/layer-store';
import { listContainers } from './containers/container-record.js';
import { snapshotRoot } from './prune.js';

/** A store's space by kind: the blob store's figures plus the snapshotter's. */
export interface DiskUsage extends StoreUsage {
  /** Unpacked layers (a cache of layer blobs, rebuilt on demand). */
  readonly unpackedLayers: Usage;
  /** Active snapshots and half-unpacked layers (in use by builds, or left by killed ones). */
  readonly snapshotTemp: Usage;
}

/** Measures the store at `root`; read-only. */
export async function storeDiskUsage(root: string): Promise<DiskUsage> {
  const store = await LayerStore.open(root);
  const snapshots = snapshotRoot(root);
  const layers = join(snapshots, 'layers');
  let unpacked: Usage = { count: 0, bytes: 0 };
  let temp = await directoryUsage(join(snapshots, 'active'));
  for (const name of await readdir(layers).catch(() => [] as string[])) {
    const u = await directoryUsage(join(layers, name));
    if (/^[0-9a-f]{64}$/.test(name))
      unpacked = { count: unpacked.count + 1, bytes: unpacked.bytes + u.bytes };
    else temp = { count: temp.count + u.count, bytes: temp.bytes + u.bytes };
  }
  // Containers' images are kept by prune (see prune.ts), so they count as images here too; a
  // killed `--rm` container's do not (the next ps or prune removes it), and du leaves it be.
  const pinned = (await listContainers(root, { reap: false })).map((c) => c.config.imageDigest);
  return { ...(await store.diskUsage(pinned)), unpackedLayers: unpacked, snapshotTemp: temp };
}
