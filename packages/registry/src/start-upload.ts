import type { BlobUpload } from './blob-upload.js';
import { RegistryError } from './registry-error.js';
import { uploadLocation } from './upload-location.js';

/** How a `POST …/blobs/uploads/` ended: the blob was mounted, or an upload session is open. */
export type UploadStart = { readonly mounted: true } | { readonly mounted: false; readonly location: URL };

/**
 * Opens an upload session. With `mountFrom` (another repository of the same registry believed to
 * hold the blob) it asks for a cross-repository mount first, with pull scope on that repository:
 * 201 means the blob is now in ours with no bytes sent; 202 (the registry declined) is a normal
 * session. A mount request the registry refuses outright (denied, unknown) falls back to a plain
 * session, as the mount is only an optimisation.
 */
export async function startUpload(up: BlobUpload, mountFrom?: string): Promise<UploadStart> {
  if (mountFrom !== undefined) {
    try {
      return await post(up, mountFrom);
    } catch (err) {
      if (!(err instanceof RegistryError) || err.code === 'CANCELLED' || err.retryable) throw err;
    }
  }
  return post(up);
}

async function post(up: BlobUpload, mountFrom?: string): Promise<UploadStart> {
  const query = mountFrom
    ? `?mount=${encodeURIComponent(up.blob.digest)}&from=${encodeURIComponent(mountFrom)}`
    : '';
  const what = up.what(mountFrom ? `mount (from ${mountFrom})` : 'start upload of');
  const res = await up.client.request({
    method: 'POST',
    target: `/v2/${up.repository}/blobs/uploads/${query}`,
    scopes: mountFrom ? [...up.scopes, `repository:${mountFrom}:pull`] : up.scopes,
    expect: mountFrom ? [201, 202] : [202],
    what,
    signal: up.signal,
  });
  res.body.resume();
  if (res.status === 201) {
    const stored = res.headers['docker-content-digest'];
    if (typeof stored === 'string' && stored !== up.blob.digest)
      throw new RegistryError('DIGEST_MISMATCH', `${what}: the registry mounted ${stored}`);
    return { mounted: true };
  }
  return { mounted: false, location: uploadLocation(res.headers.location, res.url, what) };
}
