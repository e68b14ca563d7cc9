import type { BlobUpload } from './blob-upload.js';

/** `HEAD` on the blob in the upload's repository: whether the registry serves it there. */
export async function blobExists(up: BlobUpload): Promise<boolean> {
  const res = await up.client.request({
    method: 'HEAD',
    target: `/v2/${up.repository}/blobs/${up.blob.digest}`,
    scopes: up.scopes,
    expect: [200, 404],
    what: up.what('HEAD'),
    signal: up.signal,
  });
  res.body.resume();
  return res.status === 200;
}
