import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import { fileBlobOrigins, pullImage, pushImage, type BlobOutcome } from './index.js';
import { memoryImage, memorySink } from '../../../test/support/memory-image.js';
import { startFaultProxy } from '../../../test/support/fault-proxy.js';
import {
  hasRegistryTools,
  startRegistry,
  type RegistryServer,
} from '../../../test/support/registry-server.js';

const hasSkopeo = spawnSync('which', ['skopeo']).status === 0;
const describeRegistry = hasRegistryTools() && hasSkopeo ? describe : describe.skip;
if (!hasRegistryTools() || !hasSkopeo)
  console.warn('skipping push transport tests: docker-registry or skopeo is not installed');

const noCredentials = async (): Promise<undefined> => undefined;
const MiB = 1024 * 1024;

describeRegistry('chunked push, cross-repository mount and resumable pull (real registry)', () => {
  let dir: string;
  let registry: RegistryServer;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-transport-'));
    registry = await startRegistry(join(dir, 'registry'));
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a blob above the threshold in several PATCHes with Content-Range; skopeo copies it back', async () => {
    const big = randomBytes(5 * MiB + 123);
    const { source } = memoryImage({ layers: [big, randomBytes(700)] });
    const before = registry.requests().length;
    const digest = await pushImage(`${registry.host}/chunked/app:1`, source, {
      signal,
      credentials: noCredentials,
      monolithicMaxBytes: MiB,
      chunkBytes: 2 * MiB,
    });
    const log = registry.requests().slice(before);
    expect(
      log.filter((r) => /^PATCH \/v2\/chunked\/app\/blobs\/uploads\/\S+ HTTP\/1.1" 202$/.test(r)),
    ).toHaveLength(3);
    // Small blobs (the 700-byte layer, the config) stay monolithic: no PATCH for them.
    expect(log.filter((r) => r.startsWith('PATCH '))).toHaveLength(3);

    // skopeo reads what we pushed (verifying every blob) into an OCI layout: same manifest digest,
    // and the big layer's bytes arrive intact.
    const layout = join(dir, 'copied');
    const r = spawnSync(
      'skopeo',
      [
        'copy',
        '--preserve-digests',
        '--src-tls-verify=false',
        `docker://${registry.host}/chunked/app:1`,
        `oci:${layout}:app`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(index.manifests[0]?.digest).toBe(digest);
    const bigDigest = sha256Digest(big);
    const copied = readFileSync(join(layout, 'blobs', 'sha256', bigDigest.slice('sha256:'.length)));
    expect(sha256Digest(copied)).toBe(bigDigest);
  });

  it('mounts blobs a second repository needs from the first instead of uploading them', async () => {
    const origins = fileBlobOrigins(join(dir, 'origins'));
    const { source, blobs } = memoryImage({ layers: [randomBytes(3 * MiB), randomBytes(1000)] });
    const opts = { signal, credentials: noCredentials, origins, monolithicMaxBytes: MiB, chunkBytes: MiB };
    await pushImage(`${registry.host}/mount/a:1`, source, opts);
    for (const d of blobs.keys())
      if (d !== source.manifest.digest) expect(await origins.lookup(d)).toEqual([`${registry.host}/mount/a`]);

    const before = registry.requests().length;
    const outcomes: BlobOutcome[] = [];
    const digest = await pushImage(`${registry.host}/mount/b:1`, source, {
      ...opts,
      onBlob: (_d, o) => outcomes.push(o),
    });
    expect(digest).toBe(source.manifest.digest);
    expect(outcomes).toEqual(['mounted', 'mounted', 'mounted']);
    const log = registry.requests().slice(before);
    const mounts = log.filter((r) => r.startsWith('POST /v2/mount/b/blobs/uploads/?mount=sha256'));
    expect(mounts).toHaveLength(3);
    expect(mounts.every((r) => r.includes('from=mount%2Fa') && r.endsWith(' 201'))).toBe(true);
    expect(log.filter((r) => /^(PUT|PATCH) \/v2\/mount\/b\/blobs\//.test(r))).toEqual([]);

    // And b serves the image in full.
    const sink = memorySink();
    await pullImage(`${registry.host}/mount/b:1`, sink, { signal, credentials: noCredentials });
    expect(sink.blobs.size).toBe(blobs.size);
  });

  it('falls back to uploading when the repository named as origin lacks the blob', async () => {
    const origins = fileBlobOrigins(join(dir, 'stale-origins'));
    const { source, blobs } = memoryImage({ layers: [randomBytes(2000)] });
    for (const d of blobs.keys()) await origins.record(d, `${registry.host}/nowhere/empty`);
    const outcomes: BlobOutcome[] = [];
    await pushImage(`${registry.host}/mount/c:1`, source, {
      signal,
      credentials: noCredentials,
      origins,
      onBlob: (_d, o) => outcomes.push(o),
    });
    expect(outcomes).toEqual(['uploaded', 'uploaded']);
    const sink = memorySink();
    await pullImage(`${registry.host}/mount/c:1`, sink, { signal, credentials: noCredentials });
    expect(sink.blobs.size).toBe(blobs.size);
  });

  it('resumes a download that breaks off midway with a Range request and verifies the whole', async () => {
    const big = randomBytes(4 * MiB);
    const { source } = memoryImage({ layers: [big] });
    await pushImage(`${registry.host}/resume/app:1`, source, { signal, credentials: noCredentials });
    // Every GET of a blob is cut (a reset, or a stall past the idle timeout) part way through,
    // three times in all; resumed requests are cut too until the budget is spent.
    const proxy = await startFaultProxy({
      target: registry.host,
      seed: 7,
      rate: 1,
      kinds: ['reset-mid', 'stall-mid'],
      only: `^GET /v2/resume/app/blobs/${sha256Digest(big)}$`,
      maxFaults: 3,
      stallMs: 3000,
    });
    try {
      const before = registry.requests().length;
      const sink = memorySink();
      await pullImage(`${proxy.host}/resume/app:1`, sink, {
        signal,
        credentials: noCredentials,
        idleTimeoutMs: 300,
        retry: { baseDelayMs: 10 },
      });
      expect(sink.blobs.get(sha256Digest(big))?.equals(big)).toBe(true);
      expect((await proxy.stats()).total).toBe(3);
      const gets = registry
        .requests()
        .slice(before)
        .filter((r) => r.startsWith(`GET /v2/resume/app/blobs/${sha256Digest(big)}`));
      // The registry answered the first request in full (200) and the resumptions with 206.
      expect(gets[0]).toMatch(/ 200$/);
      expect(gets.slice(1).filter((r) => r.endsWith(' 206')).length).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.stop();
    }
  });
});
