import { LayerStore, type ArchiveImage, type LoadedImage } from '@kiln/layer-store';
import { formatImageName, parseImageName } from '@kiln/oci';
import { BuilderError } from './builder-error.js';

/**
 * Writes the tagged images `names` to one archive at `output`, like `docker save`: a docker
 * archive by default (loadable by `docker load`/`podman load`, and an OCI layout too), or an OCI
 * archive. Names of the same image share one entry. IMAGE_NOT_FOUND for an unknown name.
 */
export async function saveImages(options: {
  readonly root: string;
  readonly names: readonly string[];
  readonly output: string;
  readonly format: 'docker' | 'oci';
  readonly mediaTypes?: 'oci' | 'docker';
}): Promise<void> {
  const store = await LayerStore.open(options.root);
  const byDigest = new Map<string, ArchiveImage & { names: string[] }>();
  for (const raw of options.names) {
    const name = formatImageName(parseImageName(raw));
    const descriptor = await store.resolveTag(name);
    if (descriptor === undefined) {
      throw new BuilderError('IMAGE_NOT_FOUND', `no image named ${name} in ${options.root}`, {
        hint: "see 'kiln images'",
      });
    }
    const known = byDigest.get(descriptor.digest);
    if (known) known.names.push(name);
    else byDigest.set(descriptor.digest, { image: await store.readImage(descriptor.digest), names: [name] });
  }
  await store.saveImages([...byDigest.values()], options.output, {
    format: options.format,
    ...(options.mediaTypes ? { mediaTypes: options.mediaTypes } : {}),
  });
}

/** Loads a docker-archive or OCI-archive tar into the store and tags its images (see LayerStore.loadImages). */
export async function loadImages(options: {
  readonly root: string;
  readonly input: string;
}): Promise<LoadedImage[]> {
  const store = await LayerStore.open(options.root);
  return store.loadImages(options.input);
}
