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
import type { StageState } from '../state/stage-state.js';

/** The state a stage starts from when its base is `scratch`. */
export function scratchState(): StageState {
  const { os, architecture } = hostPlatform();
  const config: ImageConfig = {
    architecture,
    os,
    config: {},
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
 * Finds a base image in the local store: `name[:tag]` or `name@sha256:…`. Registries come in a
 * later issue; until then a missing image is an error that says how to get one.
 */
export async function resolveLocalImage(
  store: LayerStore,
  ref: string,
  location?: ErrorLocation,
): Promise<Image> {
  const at = ref.indexOf('@');
  if (at >= 0) {
    const digest = ref.slice(at + 1);
    if (isDigest(digest) && (await store.statBlob(digest as Digest)) !== undefined)
      return store.readImage(digest as Digest);
  } else {
    const name = formatImageName(parseImageName(ref));
    const found = (await store.resolveTag(name)) ?? (await store.resolveTag(ref));
    if (found) return store.readImage(found.digest);
  }
  throw new BuilderError('BASE_NOT_FOUND', `base image "${ref}" not found in the local store`, {
    location,
    hint: 'import a root filesystem with `kiln import ROOTFS NAME` (pulling from registries comes later)',
  });
}
