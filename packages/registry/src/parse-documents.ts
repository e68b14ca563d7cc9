import { isDigest, type Descriptor, type ImageConfig, type Index, type Manifest } from '@kiln/oci';
import { RegistryError } from './registry-error.js';

/** Narrows untrusted JSON to a descriptor; PROTOCOL with `what` otherwise. */
export function parseDescriptor(value: unknown, what: string): Descriptor {
  require(isRecord(value), what);
  require(typeof value.mediaType === 'string', `${what}: mediaType`);
  require(isDigest(value.digest), `${what}: digest`);
  require(typeof value.size === 'number' &&
    Number.isSafeInteger(value.size) &&
    value.size >= 0, `${what}: size`);
  return value as unknown as Descriptor;
}

/** Narrows untrusted JSON to an image manifest (OCI or Docker v2 schema 2). */
export function parseManifest(value: unknown): Manifest {
  require(isRecord(value) && value.schemaVersion === 2, 'manifest: schemaVersion must be 2');
  parseDescriptor(value.config, 'manifest config');
  require(Array.isArray(value.layers), 'manifest: layers');
  value.layers.forEach((l: unknown, i: number) => parseDescriptor(l, `manifest layer ${i}`));
  return value as unknown as Manifest;
}

/** Narrows untrusted JSON to an index (OCI index or Docker manifest list). */
export function parseIndex(value: unknown): Index {
  require(isRecord(value) && value.schemaVersion === 2, 'index: schemaVersion must be 2');
  require(Array.isArray(value.manifests), 'index: manifests');
  value.manifests.forEach((m: unknown, i: number) => parseDescriptor(m, `index entry ${i}`));
  return value as unknown as Index;
}

/** Narrows untrusted JSON to an image config: os, architecture and rootfs diff IDs checked. */
export function parseImageConfig(value: unknown): ImageConfig {
  require(isRecord(value), 'image config');
  require(typeof value.architecture === 'string' && typeof value.os === 'string', 'image config: platform');
  const rootfs = value.rootfs;
  require(isRecord(rootfs) &&
    Array.isArray(rootfs.diff_ids) &&
    rootfs.diff_ids.every((d: unknown) => isDigest(d)), 'image config: rootfs.diff_ids');
  return { config: {}, history: [], ...value } as unknown as ImageConfig;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function require(ok: boolean, what: string): asserts ok {
  if (!ok) throw new RegistryError('PROTOCOL', `the registry sent an invalid ${what}`);
}
