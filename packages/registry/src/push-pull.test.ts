import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { canonicalJson, MediaType } from '@kiln/oci';
import { dockerConfigCredentials, pullImage, pushImage, RegistryClient, RegistryError } from './index.js';
import { memoryImage, memorySink } from '../../../test/support/memory-image.js';
import {
  hasHtpasswd,
  describeWithRegistry,
  hasRegistryTools,
  startRegistry,
  type RegistryServer,
} from '../../../test/support/registry-server.js';

const describeRegistry = describeWithRegistry('registry tests');

const noCredentials = async (): Promise<undefined> => undefined;

describeRegistry('push and pull against a real registry', () => {
  let dir: string;
  let registry: RegistryServer;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-registry-'));
    registry = await startRegistry(join(dir, 'registry'));
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes small blobs with one PUT, large ones in chunks, and pulls the same bytes back', async () => {
    const { source, blobs } = memoryImage({
      layers: [randomBytes(20_000), randomBytes(3 * 1024 * 1024 + 5)],
    });
    const before = registry.requests().length;
    const digest = await pushImage(`${registry.host}/test/app:1`, source, {
      signal,
      credentials: noCredentials,
      monolithicMaxBytes: 1024 * 1024,
      chunkBytes: 1024 * 1024,
    });
    expect(digest).toBe(source.manifest.digest);
    const pushed = registry.requests().slice(before);
    // 3 MiB + 5 bytes in 1 MiB chunks: four PATCHes, each accepted, then an empty PUT.
    const patches = pushed.filter((r) => r.startsWith('PATCH /v2/test/app/blobs/uploads/'));
    expect(patches).toHaveLength(4);
    expect(patches.every((r) => r.endsWith(' 202'))).toBe(true);
    expect(pushed.filter((r) => /^PUT \/v2\/test\/app\/blobs\/uploads\/\S+digest=/.test(r))).toHaveLength(3);

    const sink = memorySink();
    const pulled = await pullImage(`${registry.host}/test/app:1`, sink, {
      signal,
      credentials: noCredentials,
    });
    expect(pulled.manifestDescriptor.digest).toBe(digest);
    expect(pulled.manifestDescriptor.mediaType).toBe(MediaType.ImageManifest);
    expect([...sink.blobs.keys()].sort()).toEqual([...blobs.keys()].sort());
    for (const [d, b] of blobs) expect(sink.blobs.get(d)?.equals(b)).toBe(true);

    const byDigest = await pullImage(`${registry.host}/test/app@${digest}`, memorySink(), {
      signal,
      credentials: noCredentials,
    });
    expect(byDigest.configDigest).toBe(pulled.configDigest);
  });

  it('re-pushing sends only HEAD requests for blobs', async () => {
    const { source } = memoryImage({ layers: [randomBytes(1000), randomBytes(2000)] });
    const opts = { signal, credentials: noCredentials };
    await pushImage(`${registry.host}/test/again:1`, source, opts);
    const before = registry.requests().length;
    const outcomes: string[] = [];
    await pushImage(`${registry.host}/test/again:2`, source, {
      ...opts,
      onBlob: (_d, o) => outcomes.push(o),
    });
    const blobRequests = registry
      .requests()
      .slice(before)
      .filter((r) => r.includes('/blobs/'));
    expect(outcomes).toEqual(['exists', 'exists', 'exists']);
    expect(blobRequests).toHaveLength(3);
    expect(blobRequests.every((r) => r.startsWith('HEAD '))).toBe(true);
  });

  it('keeps Docker v2s2 media types as served', async () => {
    const { source } = memoryImage({ layers: [randomBytes(500)], docker: true });
    await pushImage(`${registry.host}/test/docker:1`, source, { signal, credentials: noCredentials });
    const pulled = await pullImage(`${registry.host}/test/docker:1`, memorySink(), {
      signal,
      credentials: noCredentials,
    });
    expect(pulled.manifestDescriptor).toEqual(source.manifest);
    expect(pulled.manifest.layers[0]?.mediaType).toBe(MediaType.DockerLayerGzip);
  });

  it('picks the wanted platform from an index', async () => {
    const amd = memoryImage({ layers: [randomBytes(100)], architecture: 'amd64' });
    const arm = memoryImage({ layers: [randomBytes(100)], architecture: 'arm64' });
    const opts = { signal, credentials: noCredentials };
    for (const img of [amd, arm])
      await pushImage(`${registry.host}/test/multi@${img.source.manifest.digest}`, img.source, opts);
    const index = Buffer.from(
      canonicalJson({
        schemaVersion: 2,
        mediaType: MediaType.ImageIndex,
        manifests: [
          { ...amd.source.manifest, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm.source.manifest, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    const client = new RegistryClient(registry.host, opts);
    const res = await client.request({
      method: 'PUT',
      target: '/v2/test/multi/manifests/latest',
      headers: { 'content-type': MediaType.ImageIndex },
      body: index,
      scopes: [],
      expect: [201],
      what: 'PUT index',
      signal,
    });
    res.body.resume();
    const pulled = await pullImage(`${registry.host}/test/multi`, memorySink(), {
      ...opts,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(pulled.manifestDescriptor.digest).toBe(arm.source.manifest.digest);
    expect(pulled.config.architecture).toBe('arm64');
    await expect(
      pullImage(`${registry.host}/test/multi`, memorySink(), {
        ...opts,
        platform: { os: 'linux', architecture: 's390x' },
      }),
    ).rejects.toMatchObject({
      code: 'NO_MATCHING_PLATFORM',
      message: expect.stringContaining('linux/arm64'),
    });
  });

  it('maps server errors to RegistryError with the server code and message', async () => {
    const err: unknown = await pullImage(`${registry.host}/test/nothing:here`, memorySink(), {
      signal,
      credentials: noCredentials,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', serverCodes: ['MANIFEST_UNKNOWN'], status: 404 });
    expect((err as Error).message).toMatch(/manifest unknown: manifest unknown/);
  });
});

const describeAuth = hasRegistryTools() && hasHtpasswd() ? describe : describe.skip;
if (!hasHtpasswd())
  console.warn('skipping Basic auth registry tests: htpasswd (apache2-utils) is not installed');

describeAuth('Basic auth against a real registry (htpasswd)', () => {
  let dir: string;
  let registry: RegistryServer;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-registry-auth-'));
    const htpasswd = join(dir, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbc', htpasswd, 'kiln', 's3cret-pass']);
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    registry = await startRegistry(join(dir, 'registry'), { htpasswd });
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function dockerConfig(auth: Record<string, unknown>): NodeJS.ProcessEnv {
    const configDir = join(dir, `docker-${Math.random().toString(36).slice(2)}`);
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: auth } }));
    return { DOCKER_CONFIG: configDir };
  }

  it('pushes and pulls with credentials from config.json (base64 auth)', async () => {
    const credentials = dockerConfigCredentials(
      dockerConfig({ auth: Buffer.from('kiln:s3cret-pass').toString('base64') }),
    );
    const { source } = memoryImage({ layers: [randomBytes(1000)] });
    const digest = await pushImage(`${registry.host}/auth/app:1`, source, { signal, credentials });
    const pulled = await pullImage(`${registry.host}/auth/app:1`, memorySink(), { signal, credentials });
    expect(pulled.manifestDescriptor.digest).toBe(digest);
  });

  it('pulls with username/password entries', async () => {
    const credentials = dockerConfigCredentials(dockerConfig({ username: 'kiln', password: 's3cret-pass' }));
    await expect(new RegistryClient(registry.host, { credentials }).ping(signal)).resolves.toBeUndefined();
  });

  it('fails with UNAUTHORIZED without or with wrong credentials, never echoing the password', async () => {
    const { source } = memoryImage({ layers: [randomBytes(10)] });
    await expect(
      pushImage(`${registry.host}/auth/app:2`, source, { signal, credentials: noCredentials }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/unauthorized: /) });
    const wrong = dockerConfigCredentials(dockerConfig({ username: 'kiln', password: 'wrong-pass' }));
    const err = (await pullImage(`${registry.host}/auth/app:1`, memorySink(), {
      signal,
      credentials: wrong,
    }).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).not.toContain('wrong-pass');
  });
});
