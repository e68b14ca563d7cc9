import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LayerStore, type Image } from '@kiln/layer-store';
import type { Digest } from '@kiln/oci';
import { Snapshotter, type RunMount, type Snapshot } from '@kiln/runner-native';
import { imageState, resolveLocalImage } from '../base/initial-state.js';
import type { RegistryAccess } from '../base/pull-into-store.js';
import { BuilderError } from '../builder-error.js';
import { snapshotRoot } from '../prune.js';
import { unpackLayers } from '../store/unpack-layers.js';
import {
  containerDir,
  listContainers,
  newContainerId,
  volumesDir,
  writeContainerConfig,
  writeContainerStatus,
  type ContainerConfig,
} from './container-record.js';
import {
  containerSettings,
  normalizeTarget,
  type MountRequest,
  type RunOptions,
} from './container-settings.js';

/** A container ready to start: its record is written, its root filesystem prepared. */
export interface CreatedContainer {
  readonly config: ContainerConfig;
  readonly snapshot: Snapshot;
}

/**
 * Creates a container from `options.image` (the local store first, else pulled): resolves
 * docker-run settings, unpacks the image's layers, makes anonymous volumes for its VOLUMEs and
 * the volumes/bind dirs the flags ask for, writes `config.json` and a "created" status, and
 * prepares the root filesystem: persistent in the container's dir, or (`--rm`) a throwaway
 * snapshot that `prune` cleans up should kiln be killed. Throws `NAME_IN_USE`, `INVALID_ARGUMENT`.
 */
export async function createContainer(
  root: string,
  options: RunOptions,
  registry: RegistryAccess = {},
): Promise<CreatedContainer> {
  const store = await LayerStore.open(root);
  const existing = await listContainers(root);
  if (options.name !== undefined && existing.some((e) => e.config.name === options.name)) {
    throw new BuilderError('NAME_IN_USE', `the container name "${options.name}" is already in use`, {
      hint: `remove it with kiln rm ${options.name}`,
    });
  }
  if (options.name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(options.name)) {
    throw new BuilderError('INVALID_ARGUMENT', `invalid container name "${options.name}"`);
  }
  const image = await resolveLocalImage(store, options.image, undefined, registry);
  const id = newContainerId();
  const hostname = options.hostname ?? id.slice(0, 12);
  const extraEnv = [`HOSTNAME=${hostname}`, ...(options.tty ? ['TERM=xterm'] : [])];
  const settings = containerSettings(image.config, options, extraEnv);
  const anonymous = settings.volumes.map(() => randomBytes(32).toString('hex'));
  const mounts: RunMount[] = [];
  for (const [i, target] of settings.volumes.entries()) {
    mounts.push({ type: 'volume', source: await volumeDir(root, anonymous[i] ?? ''), target });
  }
  for (const request of options.mounts) mounts.push(await resolveMount(root, request, anonymous));

  const snapshotter = new Snapshotter(snapshotRoot(root));
  const layers = await unpackImage(store, snapshotter, image);
  const config: ContainerConfig = {
    id,
    name: options.name ?? `kiln_${id.slice(0, 12)}`,
    image: options.image,
    imageDigest: image.manifestDescriptor.digest,
    layers,
    created: new Date().toISOString(),
    autoRemove: options.autoRemove,
    entrypoint: settings.entrypoint,
    cmd: settings.cmd,
    env: settings.env,
    user: settings.user,
    workingDir: settings.workingDir,
    hostname,
    network: options.network,
    tty: options.tty,
    mounts,
    anonymousVolumes: anonymous,
    stopSignal: settings.stopSignal,
  };
  await writeContainerConfig(root, config);
  await writeContainerStatus(root, id, { state: 'created' });
  const snapshot = options.autoRemove
    ? await snapshotter.prepare(layers)
    : await snapshotter.openPersistent(layers, containerDir(root, id));
  return { config, snapshot };
}

/** Unpacks every layer of `image` once (shared with builds); returns the diffIDs bottom → top. */
export function unpackImage(store: LayerStore, snapshotter: Snapshotter, image: Image): Promise<Digest[]> {
  return unpackLayers(store, snapshotter, imageState(image).layers);
}

async function resolveMount(root: string, m: MountRequest, anonymous: string[]): Promise<RunMount> {
  const target = normalizeTarget(m.target);
  switch (m.type) {
    case 'tmpfs':
      return m.size === undefined ? { type: 'tmpfs', target } : { type: 'tmpfs', target, size: m.size };
    case 'volume': {
      let name = m.name;
      if (name === undefined) {
        name = randomBytes(32).toString('hex');
        anonymous.push(name);
      } else if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
        throw new BuilderError('INVALID_ARGUMENT', `invalid volume name "${name}"`);
      }
      return { type: 'volume', source: await volumeDir(root, name), target, readonly: m.readonly };
    }
    case 'bind': {
      const source = resolve(m.source);
      const found = await stat(source).catch(() => undefined);
      if (found === undefined) {
        if (!m.create)
          throw new BuilderError('INVALID_ARGUMENT', `bind source path does not exist: ${source}`);
        await mkdir(source, { recursive: true });
      }
      return { type: 'volume', source, target, readonly: m.readonly };
    }
  }
}

async function volumeDir(root: string, name: string): Promise<string> {
  const dir = join(volumesDir(root), name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}
