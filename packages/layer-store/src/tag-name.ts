import { formatImageName, parseImageName } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';

/** Normalises a tag name to "name:tag" ("app" → "app:latest"); INVALID_TAG if malformed. */
export function normaliseTagName(name: string): string {
  try {
    return formatImageName(parseImageName(name));
  } catch (err) {
    throw new LayerStoreError('INVALID_TAG', `invalid tag name "${name}"`, 'use "name:tag" in lowercase', {
      cause: err,
    });
  }
}
