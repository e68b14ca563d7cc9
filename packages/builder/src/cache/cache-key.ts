import { createHash } from 'node:crypto';
import { canonicalJson } from '@kiln/oci';

/**
 * The cache key of a step: a sha256 over the parent's key and everything that can change the
 * step's result, serialised canonically. Pure; the same inputs always give the same key.
 */
export function cacheKey(parent: string, step: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(parent).update('\0').update(canonicalJson(step)).digest('hex');
}
