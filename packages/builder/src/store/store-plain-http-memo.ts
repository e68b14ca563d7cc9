import { join } from 'node:path';
import { filePlainHttpMemo, type PlainHttpMemo } from '@kiln/registry';

/**
 * The store's record of registries that speak plain HTTP (`<root>/kiln/plain-http-registries`),
 * shared by every command that talks to registries so that only the first run to a loopback or
 * `--insecure-registry` host pays for the TLS probe.
 */
export function storePlainHttpMemo(store: { readonly root: string }): PlainHttpMemo {
  return filePlainHttpMemo(join(store.root, 'kiln', 'plain-http-registries'));
}
