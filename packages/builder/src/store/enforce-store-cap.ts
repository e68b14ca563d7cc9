import type { LayerStore } from '@kiln/layer-store';
import { BuilderError } from '../builder-error.js';
import { prune, type PruneResult } from '../prune.js';

/**
 * After a build: when the store has a `maxSize` setting and its blobs exceed it, prunes down to it
 * (least-recently-used build cache first; tagged images, among them what the build just tagged,
 * and kept containers' images always stay). Skipped while another build runs on the store, since
 * its blobs are not reachable yet: the last build to finish enforces the cap. Never fails the
 * build: a problem is passed to `warn`. Returns what was pruned, or undefined when nothing was due.
 * `store` is the build's own (opening the store again cost every build a few milliseconds).
 */
export async function enforceStoreCap(
  store: LayerStore,
  warn: (message: string) => void,
): Promise<PruneResult | undefined> {
  try {
    const { maxSize } = await store.settings();
    if (maxSize === undefined || (await store.blobBytes()) <= maxSize) return undefined;
    return await prune({ root: store.root, keepStorage: maxSize });
  } catch (err) {
    if (err instanceof BuilderError && err.code === 'STORE_BUSY') return undefined;
    warn(`could not bring the store under its max-size: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
