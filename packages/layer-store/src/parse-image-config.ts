import { isDigest, type ImageConfig } from '@kiln/oci';
import { isRecord, requireDocument } from './parse-descriptor.js';

/** Narrows an untrusted JSON value to an OCI image config; INVALID_DOCUMENT otherwise. */
export function parseImageConfig(value: unknown): ImageConfig {
  requireDocument(isRecord(value), 'image config');
  requireDocument(typeof value.architecture === 'string', 'image config: architecture');
  requireDocument(typeof value.os === 'string', 'image config: os');
  const rootfs = value.rootfs;
  requireDocument(isRecord(rootfs) && rootfs.type === 'layers', 'image config: rootfs');
  requireDocument(
    Array.isArray(rootfs.diff_ids) && rootfs.diff_ids.every((d: unknown) => isDigest(d)),
    'image config: rootfs.diff_ids',
  );
  requireDocument(value.config === undefined || isRecord(value.config), 'image config: config');
  requireDocument(value.history === undefined || Array.isArray(value.history), 'image config: history');
  return { config: {}, history: [], ...value } as unknown as ImageConfig;
}
