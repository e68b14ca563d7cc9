import type { Descriptor } from '@kiln/oci';
import type { ImageSource } from './blob-io.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { withRetry } from './with-retry.js';

export interface PushBlobOptions {
  readonly signal: AbortSignal;
  /** Blobs up to this size go in one PUT; larger ones as POST, streamed PATCH, PUT (default 8 MiB). */
  readonly monolithicMaxBytes?: number;
}

/**
 * Uploads one blob unless the repository has it already (`HEAD` first). Small blobs: `POST`
 * then one `PUT ?digest=` with the content; large blobs: `POST`, one streamed `PATCH`, then an
 * empty `PUT ?digest=`. Each `Location` is resolved against the URL that returned it (relative or
 * absolute) and keeps its query parameters. A transient failure restarts the whole upload with
 * a fresh stream from `source`. Returns whether bytes were sent.
 */
export async function pushBlob(
  client: RegistryClient,
  repository: string,
  blob: Descriptor,
  source: ImageSource,
  opts: PushBlobOptions,
): Promise<'exists' | 'uploaded'> {
  const { signal } = opts;
  const scopes = [`repository:${repository}:pull,push`];
  const what = (verb: string): string => `${verb} blob ${blob.digest} to ${client.registry}/${repository}`;
  const head = await client.request({
    method: 'HEAD',
    target: `/v2/${repository}/blobs/${blob.digest}`,
    scopes,
    expect: [200, 404],
    what: what('HEAD'),
    signal,
  });
  head.body.resume();
  if (head.status === 200) return 'exists';
  const content = { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) };
  const body = (): ReturnType<ImageSource['open']> => source.open(blob.digest);
  await withRetry(
    async () => {
      const started = await client.request({
        method: 'POST',
        target: `/v2/${repository}/blobs/uploads/`,
        scopes,
        expect: [202],
        what: what('start upload of'),
        signal,
      });
      started.body.resume();
      let location = nextLocation(started.headers.location, started.url, what('start upload of'));
      if (blob.size > (opts.monolithicMaxBytes ?? 8 * 1024 * 1024)) {
        const patched = await client.request({
          method: 'PATCH',
          target: location,
          headers: content,
          body,
          scopes,
          expect: [202],
          what: what('upload'),
          retry: false,
          signal,
        });
        patched.body.resume();
        location = nextLocation(patched.headers.location ?? location.href, patched.url, what('upload'));
        location.searchParams.set('digest', blob.digest);
        const done = await client.request({
          method: 'PUT',
          target: location,
          scopes,
          expect: [201],
          what: what('finish upload of'),
          retry: false,
          signal,
        });
        done.body.resume();
      } else {
        location.searchParams.set('digest', blob.digest);
        const done = await client.request({
          method: 'PUT',
          target: location,
          headers: content,
          body,
          scopes,
          expect: [201],
          what: what('upload'),
          retry: false,
          signal,
        });
        done.body.resume();
      }
    },
    { signal },
  );
  return 'uploaded';
}

function nextLocation(location: string | undefined, base: URL, what: string): URL {
  if (!location) throw new RegistryError('PROTOCOL', `${what}: the registry sent no Location`);
  return new URL(location, base);
}
