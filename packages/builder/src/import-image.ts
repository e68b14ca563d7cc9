import { formatImageName, hostPlatform, parseImageName, type ImageConfig } from '@kiln/oci';
import { LayerStore, type Image } from '@kiln/layer-store';
import { readXattrs } from '@kiln/runner-native';

/**
 * Makes a one-layer image from a root filesystem (a directory, or a tar / tar.gz file) and tags
 * it, like `docker import`. A directory's extended attributes (file capabilities included) are
 * kept, read by runner-native's helper. The tag moves only once the image is complete. With
 * `sourceDateEpoch` the image is created then and no file is later, so the same files give the
 * same digest in any store at any time; without it, created is now (as docker's).
 */
export async function importImage(options: {
  readonly root: string;
  readonly source: string;
  readonly name: string;
  /** SOURCE_DATE_EPOCH, in seconds. */
  readonly sourceDateEpoch?: number;
}): Promise<Image> {
  const name = formatImageName(parseImageName(options.name));
  const store = await LayerStore.open(options.root);
  const epoch = options.sourceDateEpoch;
  const layer = await store.importRootfs(options.source, { readXattrs, sourceDateEpoch: epoch });
  const { os, architecture } = hostPlatform();
  const created = (epoch === undefined ? new Date() : new Date(epoch * 1000)).toISOString();
  const config: ImageConfig = {
    created,
    architecture,
    os,
    config: {},
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [
      { created, created_by: `kiln import ${options.source}`, comment: 'Imported from a root filesystem' },
    ],
  };
  const image = await store.writeImage(config, [layer]);
  await store.tag(name, image.manifestDescriptor);
  return image;
}
