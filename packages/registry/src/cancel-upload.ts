import type { BlobUpload } from './blob-upload.js';
import { RegistryError } from './registry-error.js';

/**
 * Ends an upload session that will carry no bytes (`DELETE` on its location), so the registry
 * frees it now rather than when it purges stale uploads. Best effort: a registry that refuses or
 * fails changes nothing for the push, so only cancellation of the push itself is thrown.
 */
export async function cancelUpload(up: BlobUpload, location: URL): Promise<void> {
  try {
    const res = await up.client.request({
      method: 'DELETE',
      target: location,
      scopes: up.scopes,
      expect: [200, 202, 204, 404],
      what: up.what('cancel upload of'),
      retry: false,
      signal: up.signal,
    });
    res.body.resume();
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'CANCELLED') throw err;
  }
}
