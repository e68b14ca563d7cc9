import { LayerStore, type Layer } from '@kiln/layer-store';
import { formatImageName, parseImageName, type ImageConfig } from '@kiln/oci';
import { Snapshotter } from '@kiln/runner-native';
import { BuilderError } from '../builder-error.js';
import { snapshotRoot } from '../prune.js';
import { containerDir, type ContainerEntry } from './container-record.js';
import { unpackImage } from './create-container.js';

/**
 * `docker commit`: the container's changes (its overlay upper dir) become one new layer on top of
 * its image's layers; the config is the image's with the container's Entrypoint, Cmd, Env, User
 * and WorkingDir, a new creation time and a history entry. Tags the result as `name` (default
 * tag `latest`) and returns its manifest digest. The container keeps running if it is.
 */
export async function commitContainer(root: string, entry: ContainerEntry, name: string): Promise<string> {
  const { config } = entry;
  if (config.autoRemove) {
    throw new BuilderError(
      'INVALID_ARGUMENT',
      `container ${config.name} was started with --rm and has no kept changes`,
    );
  }
  const store = await LayerStore.open(root);
  const image = await store.readImage(config.imageDigest);
  const snapshotter = new Snapshotter(snapshotRoot(root));
  const lowers = await unpackImage(store, snapshotter, image);
  const snapshot = await snapshotter.openPersistent(lowers, containerDir(root, config.id));
  const layer = await store.writeLayer(snapshot.changes());
  const base: Layer[] = image.manifest.layers.map((descriptor, i) => ({
    descriptor,
    diffId: lowers[i] ?? descriptor.digest,
  }));
  const created = new Date().toISOString();
  const next: ImageConfig = {
    ...image.config,
    created,
    config: {
      ...image.config.config,
      Entrypoint: [...config.entrypoint],
      Cmd: [...config.cmd],
      Env: config.env.filter((e) => !e.startsWith('HOSTNAME=')),
      User: config.user,
      WorkingDir: config.workingDir,
    },
    history: [...image.config.history, { created, created_by: `kiln commit ${config.name}` }],
  };
  const committed = await store.writeImage(next, [...base, layer]);
  await store.tag(formatImageName(parseImageName(name)), committed.manifestDescriptor);
  return committed.manifestDescriptor.digest;
}
