import {
  hostPlatform,
  parseImageName,
  formatImageName,
  isDigest,
  type Digest,
  type ImageConfig,
} from '@kiln/oci';
import type { Image, LayerStore } from '@kiln/layer-store';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { pullIntoStore, type RegistryAccess } from './pull-into-store.js';
import { RegistryError } from '@kiln/registry';
import type { StageState } from '../state/stage-state.js';

/** The state a stage starts from when its base is `scratch`: BuildKit's empty image, `/` its working directory. */
export function scratchState(): StageState {
  const { os, architecture } = hostPlatform();
  const config: ImageConfig = {
    architecture,
    os,
    config: { WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  return {
    config,
    layers: [],
    key: cacheKey('', { from: 'scratch', os, architecture }),
    args: new Map(),
    cmdSet: false,
  };
}

/** The state a stage starts from when its base is an image: keyed by manifest digest, never by name. */
export function imageState(image: Image): StageState {
  const diffIds = image.config.rootfs.diff_ids;
  const layers = image.manifest.layers.map((descriptor, i) => {
    const diffId = diffIds[i];
    if (!diffId)
      throw new BuilderError(
        'BASE_NOT_FOUND',
        `image ${image.manifestDescriptor.digest} has more layers than diff_ids`,
      );
    return { descriptor, diffId };
  });
  return {
    config: image.config,
    layers,
    key: cacheKey('', { from: image.manifestDescriptor.digest }),
    args: new Map(),
    cmdSet: false,
  };
}

/**
 * Finds a base image: `name[:tag]` or `name@sha256:…`, in the local store first, then pulled
 * from its registry (and tagged locally under the normalised name). With `registry.pull` a tag is
 * always resolved by the registry (blobs already stored are not fetched again), and failing to
 * reach it fails the build, as `docker build --pull` does.
 */
export async function resolveLocalImage(
  store: LayerStore,
  ref: string,
  location?: ErrorLocation,
  registry: RegistryAccess = {},
): Promise<Image> {
  const at = ref.indexOf('@');
  if (at >= 0) {
    const digest = ref.slice(at + 1);
    if (isDigest(digest) && (await store.statBlob(digest as Digest)) !== undefined)
      return store.readImage(digest as Digest);
  } else if (!registry.pull) {
    const name = formatImageName(parseImageName(ref));
    const found = (await store.resolveTag(name)) ?? (await store.resolveTag(ref));
    if (found) return store.readImage(found.digest);
  }
  try {
    return await pullIntoStore(store, ref, registry);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BuilderError(
      'BASE_NOT_FOUND',
      `base image "${ref}": not in the local store, and pulling failed: ${why}`,
      {
        location,
        cause,
        hint:
          (cause instanceof RegistryError && cause.hint) ||
          'import a root filesystem with `kiln import ROOTFS NAME`',
      },
    );
  }
}
