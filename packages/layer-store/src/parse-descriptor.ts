import { isDigest, type Descriptor } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws INVALID_DOCUMENT naming `what` unless `ok`. */
export function requireDocument(ok: boolean, what: string): asserts ok {
  if (!ok) throw new LayerStoreError('INVALID_DOCUMENT', `invalid ${what}`);
}

/** Narrows an untrusted value to a Descriptor (mediaType, sha256 digest, non-negative integer size). */
export function parseDescriptor(value: unknown, what: string): Descriptor {
  requireDocument(isRecord(value), what);
  const { mediaType, digest, size, annotations } = value;
  requireDocument(typeof mediaType === 'string', `${what}: mediaType`);
  requireDocument(isDigest(digest), `${what}: digest`);
  requireDocument(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0, `${what}: size`);
  if (annotations !== undefined) {
    requireDocument(
      isRecord(annotations) && Object.values(annotations).every((v) => typeof v === 'string'),
      `${what}: annotations`,
    );
  }
  return value as unknown as Descriptor;
}
