import { RegistryError } from './registry-error.js';

/**
 * The URL of the next request of an upload session: the registry's `Location` resolved against
 * the URL that sent it, so relative (`/v2/...`) and absolute locations both work and query
 * parameters the registry put there (state tokens, signatures) are kept as they are.
 */
export function uploadLocation(location: string | undefined, base: URL, what: string): URL {
  if (!location) throw new RegistryError('PROTOCOL', `${what}: the registry sent no Location`);
  try {
    return new URL(location, base);
  } catch (cause) {
    throw new RegistryError('PROTOCOL', `${what}: the registry sent a bad Location`, { cause });
  }
}
