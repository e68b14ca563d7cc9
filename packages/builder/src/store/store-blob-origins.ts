import { join } from 'node:path';
import { fileBlobOrigins, type BlobOrigins } from '@kiln/registry';

/**
 * The store's record of which registry repositories hold which blobs (`<root>/kiln/blob-origins`),
 * shared by pull, push and `--push` outputs so that a push mounts what a pull or push saw.
 */
export function storeBlobOrigins(store: { readonly root: string }): BlobOrigins {
  return fileBlobOrigins(join(store.root, 'kiln', 'blob-origins'));
}
