import { canonicalJson, type ImageConfig } from '@kiln/oci';
import type { Image, LayerStore } from '@kiln/layer-store';

type ImageLayer = Parameters<LayerStore['writeImage']>[1][number];

export interface WriteBuildImageOptions {
  /** The build's `-t` names, normalised; the first is the image compared with. */
  readonly tags: readonly string[];
  /** SOURCE_DATE_EPOCH: timestamps are then inputs like the rest, compared as they are. */
  readonly sourceDateEpoch?: number;
}

/**
 * Stores the image a build made (`store.writeImage`), unless the first tag already names the same
 * image but for its timestamps (`created`, and each history entry's): then that image is returned
 * as it is. So a rebuild that ran no step writes no config, manifest or index.json (their fsyncs
 * cost more than the rest of such a build) and keeps its digest and creation time, as a fully
 * cached `docker build` does. Anything else that differs (a layer, an env, a label, a history
 * line) makes a new image. A tagged image that cannot be read is not compared with: the build
 * writes its own.
 */
export async function writeBuildImage(
  store: LayerStore,
  config: ImageConfig,
  layers: readonly ImageLayer[],
  opts: WriteBuildImageOptions,
): Promise<Image> {
  const tagged = opts.tags[0] === undefined ? undefined : await taggedImage(store, opts.tags[0]);
  if (tagged !== undefined) {
    const wanted = { ...config, rootfs: { type: 'layers' as const, diff_ids: layers.map((l) => l.diffId) } };
    const comparable = opts.sourceDateEpoch === undefined ? withoutTimes : (c: ImageConfig) => c;
    const sameLayers =
      canonicalJson(tagged.manifest.layers) ===
      canonicalJson(
        layers.map((l) => ({
          mediaType: l.descriptor.mediaType,
          digest: l.descriptor.digest,
          size: l.descriptor.size,
        })),
      );
    if (sameLayers && canonicalJson(comparable(tagged.config)) === canonicalJson(comparable(wanted)))
      return tagged;
  }
  return store.writeImage(config, layers);
}

async function taggedImage(store: LayerStore, tag: string): Promise<Image | undefined> {
  try {
    const descriptor = await store.resolveTag(tag);
    return descriptor === undefined ? undefined : await store.readImage(descriptor.digest);
  } catch {
    return undefined;
  }
}

function withoutTimes(config: ImageConfig): ImageConfig {
  return {
    ...config,
    created: undefined,
    history: config.history.map((h) => ({ ...h, created: undefined })),
  };
}
