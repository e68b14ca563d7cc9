import { formatImageName, hostPlatform, parseImageName, type ImageConfig } from '@kiln/oci';
import { LayerStore, type Image } from '@kiln/layer-store';
import { readXattrs } from '@kiln/runner-native';

/**
 * Makes a one-layer image from a root filesystem (a directory, or a tar / tar.gz file) and tags
 * it, like `docker import`. A directory's extended attributes (file capabilities included) are
 * kept, read by runner-native's helper. The tag moves only once the image is complete.
 */
export async function importImage(options: {
  readonly root: string;
  readonly source: string;
  readonly name: string;
}): Promise<Image> {
  const name = formatImageName(parseImageName(options.name));
  const store = await LayerStore.open(options.root);
  const layer = await store.importRootfs(options.source, { readXattrs });
  const { os, architecture } = hostPlatform();
  const created = new Date().toISOString();
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
