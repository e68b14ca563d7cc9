import type { Index } from '@kiln/oci';
import { isRecord, parseDescriptor, requireDocument } from './parse-descriptor.js';

/** Narrows an untrusted JSON value to an OCI image index; INVALID_DOCUMENT otherwise. */
export function parseIndex(value: unknown): Index {
  requireDocument(isRecord(value), 'index');
  requireDocument(value.schemaVersion === 2, 'index: schemaVersion must be 2');
  requireDocument(Array.isArray(value.manifests), 'index: manifests');
  value.manifests.forEach((m: unknown, i: number) => parseDescriptor(m, `index entry ${i}`));
  return value as unknown as Index;
}
