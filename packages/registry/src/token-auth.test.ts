import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Digest } from '@kiln/oci';
import type { BlobOrigins } from './blob-io.js';
import {
  dockerConfigCredentials,
  pullImage,
  pushImage,
  RegistryClient,
  type RegistryError,
} from './index.js';
import { memoryImage, memorySink } from '../../../test/support/memory-image.js';
import {
  describeWithRegistry,
  startRegistry,
  type RegistryServer,
} from '../../../test/support/registry-server.js';
import { makeCertificateAuthority } from '../../../test/support/test-pki.js';
import { startTokenServer, type TokenServer } from '../../../test/support/token-server.js';

const describeRegistry = describeWithRegistry('token auth tests');

const signal = new AbortController().signal;
const users = { kiln: 'token-pass' };

/** A registry with token auth and its token server (JWTs signed by a key the registry trusts). */
async function tokenRegistry(
  dir: string,
  lifetime: { lifetimeSeconds?: number; expiresIn?: number } = {},
): Promise<{ registry: RegistryServer; tokens: TokenServer; stop: () => Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const signer = makeCertificateAuthority(dir, 'token-signer');
  const tokens = await startTokenServer(dir, {
    signer,
    users,
    refreshTokens: { 'refresh-for-kiln': 'kiln' },
    ...lifetime,
  });
  const registry = await startRegistry(join(dir, 'registry'), {
    token: {
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: signer.cert,
    },
  }).catch(async (err: unknown) => {
    await tokens.stop();
    throw err;
  });
  return {
    registry,
    tokens,
    stop: async () => {
      await registry.stop();
      await tokens.stop();
    },
  };
}

describeRegistry('token auth against a real registry and token server', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof tokenRegistry>>;
  const credentials = async (): Promise<{ username: string; password: string }> => ({
    username: 'kiln',
    password: 'token-pass',
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-token-'));
    server = await tokenRegistry(join(dir, 'long'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes and pulls with Basic credentials at the token server; one token per scope set, reused', async () => {
    const { registry, tokens } = server;
    const client = new RegistryClient(registry.host, { credentials });
    const { source } = memoryImage({ layers: [randomBytes(2000), randomBytes(3000)] });
    const before = tokens.requests().length;
    const digest = await pushImage(`${registry.host}/tok/app:1`, source, { signal, client });
    const pulled = await pullImage(`${registry.host}/tok/app:1`, memorySink(), { signal, client });
    expect(pulled.manifestDescriptor.digest).toBe(digest);
    const used = tokens.requests().slice(before);
    expect(used.every((r) => r.method === 'GET' && r.user === 'kiln' && !r.refused)).toBe(true);
    expect(used.every((r) => r.service.join() === tokens.service)).toBe(true);
    // Three blobs and a manifest pushed, two blobs and a manifest pulled: still one token for
    // each scope set the requests asked for, however many requests ran at once.
    // (The first also carries the scope the registry's challenge named.)
    expect(used).toHaveLength(2);
    expect(used[0]?.scopes).toContain('repository:tok/app:pull,push');
    expect(used[1]?.scopes).toEqual(['repository:tok/app:pull']);

    // The same client pushing again asks for no new token: they are cached per scope.
    const mid = tokens.requests().length;
    const { source: again } = memoryImage({ layers: [randomBytes(100)] });
    await pushImage(`${registry.host}/tok/app:2`, again, { signal, client });
    expect(tokens.requests().length).toBe(mid);
    // A new repository is a new scope: one more token.
    await pushImage(`${registry.host}/tok/other:1`, again, { signal, client });
    const added = tokens.requests().slice(mid);
    expect(added.map((r) => r.scopes)).toEqual([['repository:tok/other:pull,push']]);
  });

  it('asks for pull scope on the source repository when the push mounts a blob from it', async () => {
    const { registry, tokens } = server;
    const seen = new Map<Digest, string[]>();
    const origins: BlobOrigins = {
      lookup: async (d) => seen.get(d) ?? [],
      record: async (d, repo) => {
        seen.set(d, [repo, ...(seen.get(d) ?? [])]);
      },
    };
    const { source } = memoryImage({ layers: [randomBytes(5000)] });
    const opts = { signal, credentials, origins };
    await pushImage(`${registry.host}/tok/mount-src:1`, source, opts);
    const before = tokens.requests().length;
    const logged = registry.requests().length;
    await pushImage(`${registry.host}/tok/mount-dst:1`, source, opts);
    const mounts = registry
      .requests()
      .slice(logged)
      .filter((r) => r.startsWith('POST /v2/tok/mount-dst/blobs/uploads/?mount='));
    // The mount is the first request for this scope (no HEAD before it): a 401 first, then 201.
    expect(mounts.filter((r) => / 201$/.test(r))).toHaveLength(2);
    expect(mounts.every((r) => r.includes('from=tok%2Fmount-src') && / (201|401)$/.test(r))).toBe(true);
    const scopes = tokens
      .requests()
      .slice(before)
      .map((r) => [...r.scopes].sort());
    expect(scopes).toContainEqual(['repository:tok/mount-dst:pull,push', 'repository:tok/mount-src:pull']);
  });

  it('sends repeated scope= parameters when a request needs several scopes', async () => {
    const { registry, tokens } = server;
    const client = new RegistryClient(registry.host, { credentials });
    await client.ping(signal);
    const before = tokens.requests().length;
    const res = await client.request({
      method: 'GET',
      target: '/v2/tok/app/tags/list',
      scopes: ['repository:tok/app:pull', 'repository:tok/other:pull'],
      expect: [200],
      what: 'tags',
      signal,
    });
    res.body.resume();
    const [request] = tokens.requests().slice(before);
    expect(request?.scopes).toEqual(['repository:tok/app:pull', 'repository:tok/other:pull']);
  });

  it('refuses wrong credentials with the token server reason and no secret in the message', async () => {
    const { registry } = server;
    const wrong = async (): Promise<{ username: string; password: string }> => ({
      username: 'kiln',
      password: 'not-the-pass',
    });
    const err = (await pullImage(`${registry.host}/tok/app:1`, memorySink(), {
      signal,
      credentials: wrong,
    }).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).toMatch(/unauthorized: invalid username or password/);
    expect(err.message).not.toContain('not-the-pass');
  });

  it('exchanges a docker identitytoken (OAuth2 refresh token) by POST for access tokens', async () => {
    const { registry, tokens } = server;
    const configDir = join(dir, 'docker-identity');
    mkdirSync(configDir);
    writeFileSync(
      join(configDir, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { identitytoken: 'refresh-for-kiln' } } }),
    );
    const fromConfig = dockerConfigCredentials({ DOCKER_CONFIG: configDir });
    const before = tokens.requests().length;
    const { source } = memoryImage({ layers: [randomBytes(500)] });
    const digest = await pushImage(`${registry.host}/tok/identity:1`, source, {
      signal,
      credentials: fromConfig,
    });
    const pulled = await pullImage(`${registry.host}/tok/identity:1`, memorySink(), {
      signal,
      credentials: fromConfig,
    });
    expect(pulled.manifestDescriptor.digest).toBe(digest);
    const used = tokens.requests().slice(before);
    expect(used.length).toBeGreaterThan(0);
    expect(used.every((r) => r.method === 'POST' && r.grantType === 'refresh_token' && !r.refused)).toBe(
      true,
    );

    writeFileSync(
      join(configDir, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { identitytoken: 'revoked' } } }),
    );
    await expect(
      pullImage(`${registry.host}/tok/identity:1`, memorySink(), {
        signal,
        credentials: dockerConfigCredentials({ DOCKER_CONFIG: configDir }),
      }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/invalid refresh token/),
    });
  });

  it('fetches a new token when the registry rejects an expired one in the middle of an upload', async () => {
    // Tokens live 2 s at the registry while clients are told 300 s, so kiln keeps using one the
    // registry has stopped accepting: only the 401 can tell it.
    const short = await tokenRegistry(join(dir, 'short'), { lifetimeSeconds: 2, expiresIn: 300 });
    try {
      const { registry, tokens } = short;
      const image = memoryImage({ layers: [randomBytes(4000)] });
      const layer = [...image.blobs.keys()][0] as Digest;
      let stalled = false;
      const source = {
        manifest: image.source.manifest,
        // The first read of the layer comes after the upload session started, and waits until
        // the token that started it has expired.
        open: async (d: Digest) => {
          if (d === layer && !stalled) {
            stalled = true;
            await sleep(3500);
          }
          return image.source.open(d);
        },
      };
      const client = new RegistryClient(registry.host, { credentials });
      const digest = await pushImage(`${registry.host}/tok/slow:1`, source, {
        signal,
        client,
        concurrency: 1,
      });
      expect(stalled).toBe(true);
      const uploads = registry
        .requests()
        .filter((r) => /^(PUT|PATCH) \/v2\/tok\/slow\/blobs\/uploads\//.test(r));
      expect(uploads.some((r) => / 401$/.test(r))).toBe(true);
      expect(uploads.some((r) => / 201$/.test(r))).toBe(true);
      const pushScope = tokens.requests().filter((r) => r.scopes.includes('repository:tok/slow:pull,push'));
      expect(pushScope.length).toBeGreaterThanOrEqual(2);
      const pulled = await pullImage(`${registry.host}/tok/slow:1`, memorySink(), { signal, credentials });
      expect(pulled.manifestDescriptor.digest).toBe(digest);
    } finally {
      await short.stop();
    }
  });
});
