import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import { fileBlobOrigins, pullImage, pushImage, type BlobOutcome } from './index.js';
import { memoryImage, memorySink, type MemoryImage } from '../../../test/support/memory-image.js';
import {
  describeWithRegistry,
  startRegistry,
  type RegistryServer,
} from '../../../test/support/registry-server.js';

const describeRegistry = describeWithRegistry('push request tests');

const noCredentials = async (): Promise<undefined> => undefined;
const KiB = 1024;

/** The blob requests of an access log, as `METHOD status` with the digest or session cut out. */
function blobRequests(log: readonly string[], repository: string): string[] {
  return log.flatMap((l) => {
    const m = new RegExp(`^([A-Z]+) /v2/${repository}/blobs/(\\S*) HTTP/1\\.1" (\\d+)$`).exec(l);
    if (!m) return [];
    const [, method, rest, status] = m as unknown as [string, string, string, string];
    const kind = rest.startsWith('uploads/?mount=') ? ' mount' : rest.startsWith('uploads/') ? ' upload' : '';
    return [`${method}${kind} ${status}`];
  });
}

describeRegistry('which requests a push sends (real registry)', () => {
  let dir: string;
  let registry: RegistryServer;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-push-requests-'));
    registry = await startRegistry(join(dir, 'registry'));
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function push(
    image: MemoryImage,
    repository: string,
    opts: {
      origins?: ReturnType<typeof fileBlobOrigins>;
      unseenUploadMaxBytes?: number;
      concurrency?: number;
    } = {},
  ): Promise<{ outcomes: Map<Digest, BlobOutcome>; requests: string[] }> {
    const before = registry.requests().length;
    const outcomes = new Map<Digest, BlobOutcome>();
    const digest = await pushImage(`${registry.host}/${repository}:1`, image.source, {
      signal,
      credentials: noCredentials,
      ...opts,
      onBlob: (d, o) => outcomes.set(d, o),
    });
    expect(digest).toBe(image.source.manifest.digest);
    const requests = blobRequests(registry.requests().slice(before), repository);
    // Whatever the requests were, the repository serves the whole image, byte for byte.
    const sink = memorySink();
    await pullImage(`${registry.host}/${repository}:1`, sink, { signal, credentials: noCredentials });
    for (const [d, b] of image.blobs) expect(sink.blobs.get(d)?.equals(b)).toBe(true);
    return { outcomes, requests };
  }

  it('sends small blobs the origins never saw without a HEAD, asks first about large ones', async () => {
    const origins = fileBlobOrigins(join(dir, 'origins-unseen'));
    const small = randomBytes(1000);
    const large = randomBytes(300 * KiB);
    const image = memoryImage({ layers: [small, large] });
    const { outcomes, requests } = await push(image, 'unseen/app', { origins });
    expect([...outcomes.values()]).toEqual(['uploaded', 'uploaded', 'uploaded']);
    // One HEAD (the 300 KiB layer, above the default 256 KiB); three sessions, three uploads.
    expect(requests.filter((r) => r.startsWith('HEAD '))).toEqual(['HEAD 404']);
    expect(requests.filter((r) => r === 'POST upload 202')).toHaveLength(3);
    expect(requests.filter((r) => r === 'PUT upload 201')).toHaveLength(3);
    expect(requests).toHaveLength(7);

    // Pushed there, so now seen there: a second push to the same repository asks, and sends nothing.
    const again = await push(image, 'unseen/app', { origins });
    expect([...again.outcomes.values()]).toEqual(['exists', 'exists', 'exists']);
    expect(again.requests).toEqual(['HEAD 200', 'HEAD 200', 'HEAD 200']);
  });

  it('starts the blobs it will upload before those it asks about', async () => {
    const origins = fileBlobOrigins(join(dir, 'origins-order'));
    const kept = randomBytes(700);
    await push(memoryImage({ layers: [kept] }), 'order/app', { origins });
    // The kept layer is known in this repository now (asked about); the new layer, after it in the
    // manifest, and the new config are not (uploaded). One blob at a time: the log is the order.
    const image = memoryImage({ layers: [kept, randomBytes(900)] });
    const { requests } = await push(image, 'order/app', { origins, concurrency: 1 });
    expect(requests).toEqual([
      'POST upload 202',
      'PUT upload 201',
      'POST upload 202',
      'PUT upload 201',
      'HEAD 200',
    ]);
  });

  it('reads blobs of at most 1 MiB whole when the source can, and streams the rest', async () => {
    const image = memoryImage({ layers: [randomBytes(2000), randomBytes(1024 * KiB + 1)], whole: true });
    const opened: Digest[] = [];
    const read: Digest[] = [];
    const { source } = image;
    const counting: MemoryImage = {
      ...image,
      source: {
        manifest: source.manifest,
        open: (d) => (opened.push(d), source.open(d)),
        read: (d, max) => (read.push(d), (source.read as NonNullable<typeof source.read>)(d, max)),
      },
    };
    await push(counting, 'whole/app');
    // The manifest, the config and the small layer read whole; only the big layer streamed.
    const big = [...image.blobs].filter(([, b]) => b.length > 1024 * KiB).map(([d]) => d);
    expect(new Set(read)).toEqual(new Set([...image.blobs.keys()].filter((d) => !big.includes(d))));
    expect(opened).toEqual(big);
    expect(big).toHaveLength(1);
  });

  it('asks about every blob without origins, or with unseenUploadMaxBytes 0', async () => {
    const image = memoryImage({ layers: [randomBytes(500)] });
    const bare = await push(image, 'asked/bare');
    expect(bare.requests.filter((r) => r === 'HEAD 404')).toHaveLength(2);
    const origins = fileBlobOrigins(join(dir, 'origins-zero'));
    const zero = await push(memoryImage({ layers: [randomBytes(500)] }), 'asked/zero', {
      origins,
      unseenUploadMaxBytes: 0,
    });
    expect(zero.requests.filter((r) => r === 'HEAD 404')).toHaveLength(2);
  });

  it('mounts without asking first', async () => {
    const origins = fileBlobOrigins(join(dir, 'origins-mount'));
    const image = memoryImage({ layers: [randomBytes(400 * KiB), randomBytes(800)] });
    await push(image, 'mount/from', { origins });
    const { outcomes, requests } = await push(image, 'mount/to', { origins });
    expect([...outcomes.values()]).toEqual(['mounted', 'mounted', 'mounted']);
    expect(requests).toEqual(['POST mount 201', 'POST mount 201', 'POST mount 201']);
  });

  it('when a mount is declined, asks; a blob already there is not sent and its session is cancelled', async () => {
    const image = memoryImage({ layers: [randomBytes(2000)] });
    await push(image, 'declined/app');
    // Stale origins: they name a repository that lacks the blobs, never the one that has them.
    const origins = fileBlobOrigins(join(dir, 'origins-stale'));
    for (const d of image.blobs.keys()) await origins.record(d, `${registry.host}/nowhere/empty`);
    const { outcomes, requests } = await push(image, 'declined/app', { origins });
    expect([...outcomes.values()]).toEqual(['exists', 'exists']);
    expect(requests.sort()).toEqual(
      [
        'DELETE upload 204',
        'DELETE upload 204',
        'HEAD 200',
        'HEAD 200',
        'POST mount 202',
        'POST mount 202',
      ].sort(),
    );
  });
});
