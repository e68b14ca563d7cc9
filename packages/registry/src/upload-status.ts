import type { BlobUpload } from './blob-upload.js';
import { RegistryError } from './registry-error.js';
import { uploadLocation } from './upload-location.js';

/** Where an upload session stands: its next URL and how many bytes the registry holds. */
export interface UploadState {
  readonly location: URL;
  readonly offset: number;
}

/**
 * `GET` on an upload session (after a failed chunk): the registry's `Range: 0-<last>` says how
 * many bytes it kept. `0-0` is ambiguous in the spec (nothing, or one byte) and read as nothing;
 * should the registry hold one byte, the next chunk's `Content-Range` is refused and the caller
 * starts over. A session the registry no longer knows throws NOT_FOUND.
 */
export async function uploadStatus(up: BlobUpload, location: URL): Promise<UploadState> {
  const what = up.what('query upload of');
  const res = await up.client.request({
    method: 'GET',
    target: location,
    scopes: up.scopes,
    expect: [204, 200],
    what,
    signal: up.signal,
  });
  res.body.resume();
  return {
    location: uploadLocation(res.headers.location ?? location.href, res.url, what),
    offset: rangeOffset(res.headers.range, what) ?? 0,
  };
}

/** The byte count `Range: [bytes=]0-<last>` stands for; undefined when the header is absent. */
export function rangeOffset(range: string | undefined, what: string): number | undefined {
  if (range === undefined) return undefined;
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
  if (!m) throw new RegistryError('PROTOCOL', `${what}: unreadable Range header "${range}"`);
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}
