import { MediaType, type Manifest } from '@kiln/oci';
import { isRecord, parseDescriptor, requireDocument } from './parse-descriptor.js';

/** Narrows an untrusted JSON value to an OCI image manifest; INVALID_DOCUMENT otherwise. */
export function parseManifest(value: unknown): Manifest {
  requireDocument(isRecord(value), 'manifest');
  requireDocument(value.schemaVersion === 2, 'manifest: schemaVersion must be 2');
  requireDocument(
    value.mediaType === undefined ||
      value.mediaType === MediaType.ImageManifest ||
      value.mediaType === MediaType.DockerManifest,
    'manifest: mediaType',
  );
  parseDescriptor(value.config, 'manifest config descriptor');
  requireDocument(Array.isArray(value.layers), 'manifest: layers');
  value.layers.forEach((layer: unknown, i: number) => parseDescriptor(layer, `manifest layer ${i}`));
  return value as unknown as Manifest;
}
