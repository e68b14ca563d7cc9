import { pipeline, Readable } from 'node:stream';
import { sha256Digest, type Descriptor } from '@kiln/oci';
import { readBody } from './read-body.js';
import type { RegistryClient, RegistryResponse } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { verifyStream } from './verify-stream.js';
import { waitToRetry } from './with-retry.js';

/**
 * Streams a blob (following redirects to storage on other hosts, without our credentials).
 * A download that breaks off midway (reset, stall past the idle timeout) resumes with
 * `Range: bytes=<received>-`; a server that answers 206 sends the rest, one that ignores the
 * range (200) sends it all again and the bytes already passed on are skipped. The returned
 * stream errors before its end unless the whole content matches the descriptor's size and
 * digest; the caller reads it to the end or destroys it. Failures before the first byte are
 * thrown here (the caller may retry); a few resumptions in a row without progress end it.
 */
export async function fetchBlob(
  client: RegistryClient,
  repository: string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  signal: AbortSignal,
): Promise<Readable> {
  const what = `GET blob ${blob.digest} of ${client.registry}/${repository}`;
  const get = (offset: number): Promise<RegistryResponse> =>
    client.request({
      method: 'GET',
      target: `/v2/${repository}/blobs/${blob.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : undefined,
      scopes: [`repository:${repository}:pull`],
      expect: offset > 0 ? [200, 206] : [200],
      what: offset > 0 ? `${what} (resuming at byte ${offset})` : what,
      signal,
    });
  const first = await get(0);
  const bytes = Readable.from(resumingBody(first, get, { size: blob.size, what, client, signal }));
  return pipeline(bytes, verifyStream(blob), () => undefined);
}

async function* resumingBody(
  first: RegistryResponse,
  get: (offset: number) => Promise<RegistryResponse>,
  ctx: { size: number; what: string; client: RegistryClient; signal: AbortSignal },
): AsyncGenerator<Buffer> {
  const { attempts = 4, baseDelayMs } = ctx.client.retryPolicy;
  let res = first;
  let offset = 0;
  let failures = 0;
  for (;;) {
    let skip = res.status === 206 ? rangeStart(res, offset, ctx.what) : offset;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        failures = 0;
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        const piece = skip > 0 ? chunk.subarray(skip) : chunk;
        skip = 0;
        offset += piece.length;
        yield piece;
      }
      return;
    } catch (err) {
      if (ctx.signal.aborted)
        throw new RegistryError('CANCELLED', `${ctx.what}: cancelled`, { cause: ctx.signal.reason });
      const broken = new RegistryError(
        'NETWORK',
        `${ctx.what}: the download broke off after ${offset} of ${ctx.size} bytes (${err instanceof Error ? err.message : String(err)})`,
        { cause: err, retryable: true },
      );
      if (++failures >= attempts) throw broken;
      // Nothing is missing: the verifier downstream decides whether the bytes are right.
      if (offset >= ctx.size) return;
      await waitToRetry(broken, failures, { signal: ctx.signal, baseDelayMs });
      res = await get(offset);
    }
  }
}

/** The first byte a 206 answer carries (`Content-Range: bytes <first>-<last>/<size>`); must be `offset`. */
function rangeStart(res: RegistryResponse, offset: number, what: string): number {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(res.headers['content-range'] ?? '');
  if (!m || Number(m[1]) !== offset) {
    res.body.destroy();
    throw new RegistryError(
      'PROTOCOL',
      `${what}: asked for bytes from ${offset}, got Content-Range "${res.headers['content-range'] ?? ''}"`,
    );
  }
  return 0;
}

/** Fetches a small JSON blob (an image config) into memory, verified; at most `maxBytes`. */
export async function fetchSmallBlob(
  client: RegistryClient,
  repository: string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  if (blob.size > maxBytes)
    throw new RegistryError('PROTOCOL', `blob ${blob.digest} is ${blob.size} bytes, more than ${maxBytes}`);
  const stream = await fetchBlob(client, repository, blob, signal);
  const bytes = await readBody(stream, maxBytes, `blob ${blob.digest}`);
  if (sha256Digest(bytes) !== blob.digest)
    throw new RegistryError('DIGEST_MISMATCH', `blob ${blob.digest} does not match its content`);
  return bytes;
}
