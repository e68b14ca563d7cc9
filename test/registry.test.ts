import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { kiln, repoRoot, run, storeWithBusybox, tempDir } from './support/kiln.js';
import {
  hasHtpasswd,
  describeWithRegistry,
  hasRegistryTools,
  startRegistry,
  type RegistryServer,
  remoteDigest,
} from './support/registry-server.js';

const describeRegistry = describeWithRegistry('kiln push/pull tests');

const tmp = tempDir('kiln-registry-e2e-');
const root = join(tmp.path, 'store');
let registry: RegistryServer;

function ok(r: { status: number | null; stdout: string; stderr: string }): string {
  expect(r.stderr).not.toMatch(/^error/m);
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

function rawManifest(ref: string): { mediaType?: string } {
  return JSON.parse(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])) as {
    mediaType?: string;
  };
}

describeRegistry('kiln push and pull with a real registry', () => {
  beforeAll(async () => {
    storeWithBusybox(root);
    registry = await startRegistry(join(tmp.path, 'registry'));
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  it('kiln push: skopeo sees the digest of the local image; a re-push only HEADs blobs', () => {
    const local = (JSON.parse(ok(kiln(root, ['inspect', 'busybox:latest']))) as { digest: string }).digest;
    const pushed = ok(kiln(root, ['push', 'busybox:latest', `${registry.host}/busybox:latest`]));
    expect(pushed).toBe(local);
    expect(remoteDigest(`${registry.host}/busybox:latest`)).toBe(local);

    const before = registry.requests().length;
    const again = kiln(root, ['push', 'busybox', `${registry.host}/busybox:again`]);
    expect(ok(again)).toBe(local);
    expect(again.stderr).toMatch(/already exists/);
    const blobRequests = registry
      .requests()
      .slice(before)
      .filter((r) => r.includes('/blobs/'));
    expect(blobRequests.length).toBeGreaterThanOrEqual(2);
    expect(blobRequests.filter((r) => !r.startsWith('HEAD '))).toEqual([]);
  });

  it('kiln pull: an OCI layout copied in by skopeo arrives in an empty store with the same digest', () => {
    const layout = join(tmp.path, 'hello-layout');
    ok(
      kiln(root, [
        'build',
        '-q',
        '-t',
        'hello:1',
        '--output',
        `type=oci,dest=${layout},tar=false`,
        join(repoRoot, 'examples', 'hello'),
      ]),
    );
    run('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:1`,
      `docker://${registry.host}/hello:1`,
    ]);
    const remote = remoteDigest(`${registry.host}/hello:1`);
    const empty = join(tmp.path, 'pull-store');
    expect(ok(kiln(empty, ['pull', `${registry.host}/hello:1`]))).toBe(remote);
    const inspected = JSON.parse(ok(kiln(empty, ['inspect', `${registry.host}/hello:1`]))) as {
      name: string;
      digest: string;
      config: { config: { Cmd?: string[] } };
    };
    expect(inspected.name).toBe(`${registry.host}/hello:1`);
    expect(inspected.digest).toBe(remote);
    expect(inspected.config.config.Cmd).toEqual(['cat', '/hello.txt', '/greeting.txt']);
  });

  it('FROM 127.0.0.1:PORT/busybox builds from an empty store (pulled, then local)', () => {
    const ctx = join(tmp.path, 'from-registry');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${registry.host}/busybox\nRUN echo pulled > /pulled.txt\n`);
    const empty = join(tmp.path, 'build-store');
    ok(kiln(empty, ['build', '-q', '-t', 'from-registry:1', ctx]));
    const base = JSON.parse(ok(kiln(empty, ['inspect', `${registry.host}/busybox:latest`]))) as {
      digest: string;
    };
    expect(base.digest).toBe(remoteDigest(`${registry.host}/busybox:latest`));
    const before = registry.requests().length;
    ok(kiln(empty, ['build', '-q', '-t', 'from-registry:2', ctx]));
    expect(registry.requests().slice(before)).toEqual([]);
  });

  it('kiln push mounts the base layers it pulled from another repository, uploads only the new ones', () => {
    const store = join(tmp.path, 'build-store');
    const before = registry.requests().length;
    const r = kiln(store, ['push', 'from-registry:1', `${registry.host}/derived/app:1`]);
    const digest = ok(r);
    expect(remoteDigest(`${registry.host}/derived/app:1`)).toBe(digest);
    const log = registry.requests().slice(before);
    // busybox's one layer came from REG/busybox: mounted. The RUN layer and the config: uploaded.
    const mounted = log.filter((l) =>
      /^POST \/v2\/derived\/app\/blobs\/uploads\/\?mount=\S+&from=busybox /.test(l),
    );
    expect(mounted).toHaveLength(1);
    expect(mounted[0]).toMatch(/" 201$/);
    expect(r.stderr.match(/: mounted$/gm)).toHaveLength(1);
    expect(r.stderr.match(/: pushed$/gm)).toHaveLength(2);
    // None asked about first: the mount answers for the base layer, and this store never saw
    // the two small new blobs on this registry.
    expect(log.filter((l) => l.startsWith('HEAD '))).toEqual([]);
  });

  it('Docker v2s2 images are pulled as served and build', () => {
    run('skopeo', [
      'copy',
      '--format',
      'v2s2',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${registry.host}/busybox:latest`,
      `docker://${registry.host}/busybox-v2s2:latest`,
    ]);
    expect(rawManifest(`${registry.host}/busybox-v2s2:latest`).mediaType).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    const ctx = join(tmp.path, 'from-v2s2');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${registry.host}/busybox-v2s2\nRUN echo ok > /ok.txt\n`);
    const empty = join(tmp.path, 'v2s2-store');
    ok(kiln(empty, ['build', '-q', '-t', 'v2s2:1', ctx]));
    const base = JSON.parse(ok(kiln(empty, ['inspect', `${registry.host}/busybox-v2s2`]))) as {
      digest: string;
      manifest: { mediaType: string };
    };
    expect(base.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(base.digest).toBe(remoteDigest(`${registry.host}/busybox-v2s2:latest`));
  });

  it('an unknown image fails with the registry message', () => {
    const r = kiln(join(tmp.path, 'missing-store'), ['pull', `${registry.host}/nothing:here`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/manifest unknown/);
  });
});

const describeAuth = hasRegistryTools() && hasHtpasswd() ? describe : describe.skip;
if (!hasHtpasswd()) console.warn('skipping kiln Basic auth test: htpasswd (apache2-utils) is not installed');

describeAuth('kiln push with Basic auth (htpasswd)', () => {
  const dir = tempDir('kiln-registry-auth-e2e-');
  let secured: RegistryServer;
  const store = join(dir.path, 'store');

  beforeAll(async () => {
    storeWithBusybox(store);
    const htpasswd = join(dir.path, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbc', htpasswd, 'kiln', 'pa55word']);
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    secured = await startRegistry(join(dir.path, 'registry'), { htpasswd });
  });
  afterAll(async () => {
    await secured?.stop();
    dir.cleanup();
  });

  it('uses ~/.docker/config.json credentials ($DOCKER_CONFIG), and says unauthorized without them', () => {
    const dest = `${secured.host}/private/busybox:1`;
    const none = join(dir.path, 'no-docker-config');
    const denied = kiln(store, ['push', 'busybox', dest], { DOCKER_CONFIG: none });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/unauthorized: authentication required/);
    const config = join(dir.path, 'docker-config');
    mkdirSync(config);
    writeFileSync(
      join(config, 'config.json'),
      JSON.stringify({
        auths: { [secured.host]: { auth: Buffer.from('kiln:pa55word').toString('base64') } },
      }),
    );
    const digest = ok(kiln(store, ['push', 'busybox', dest], { DOCKER_CONFIG: config }));
    expect(
      JSON.parse(
        run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'kiln:pa55word', `docker://${dest}`]),
      ) as { Digest: string },
    ).toMatchObject({ Digest: digest });
  });
});
