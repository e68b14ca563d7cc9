import { join } from 'node:path';
import { kiln, run, storeWithBusybox, tempDir, writeContext, type Result } from './support/kiln.js';
import { hasRegistryTools, startRegistry, type RegistryServer } from './support/registry-server.js';

const describeRegistry = hasRegistryTools() ? describe : describe.skip;
if (!hasRegistryTools()) console.warn('skipping kiln build --push tests: docker-registry is not installed');

const tmp = tempDir('kiln-build-push-');
const root = join(tmp.path, 'store');
let registry: RegistryServer;

function ok(r: Result): string {
  expect(r.stderr).not.toMatch(/^error/m);
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

function remoteDigest(ref: string): string {
  const out = JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])) as {
    Digest: string;
  };
  return out.Digest;
}

describeRegistry('kiln build --push', () => {
  beforeAll(async () => {
    storeWithBusybox(root);
    registry = await startRegistry(join(tmp.path, 'registry'));
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  it('pushes the built image under every -t name; skopeo sees the printed digest', () => {
    const ctx = writeContext(
      tmp.path,
      'ctx',
      'FROM busybox\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copy.txt\n',
      { 'hello.txt': 'pushed by kiln build\n' },
    );
    const a = `${registry.host}/app:one`;
    const b = `${registry.host}/other/app:two`;
    const r = kiln(root, ['build', '--push', '-t', a, '-t', b, ctx]);
    const digest = ok(r);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.stderr).toContain(`pushed ${a}@${digest}`);
    expect(r.stderr).toContain(`pushed ${b}@${digest}`);
    expect(remoteDigest(a)).toBe(digest);
    expect(remoteDigest(b)).toBe(digest);
    // The pushed layers are readable: skopeo copies the image out of the registry completely.
    run('skopeo', ['copy', '--src-tls-verify=false', `docker://${a}`, `oci:${join(tmp.path, 'copied')}:one`]);
  });

  it('-o type=registry,name=… and type=image,push=true push to the names given', () => {
    const ctx = writeContext(tmp.path, 'ctx-named', 'FROM busybox\nRUN echo named > /named.txt\n');
    const name = `${registry.host}/named:v1`;
    const image = `${registry.host}/image:v1`;
    const digest = ok(
      kiln(root, [
        'build',
        '-t',
        'local-only:1',
        '-o',
        `type=registry,name=${name}`,
        '-o',
        `type=image,name=${image},push=true`,
        ctx,
      ]),
    );
    expect(remoteDigest(name)).toBe(digest);
    expect(remoteDigest(image)).toBe(digest);
  });

  it('--push without a name fails before anything is pushed, and a refused push moves no tag', () => {
    const ctx = writeContext(tmp.path, 'ctx-noname', 'FROM busybox\nRUN true\n');
    const r = kiln(root, ['build', '--push', ctx]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/pushing needs a name/);

    // Nothing listens on port 1: the push fails, and the local tag is not written either.
    const down = kiln(root, ['build', '--push', '-t', '127.0.0.1:1/app:down', ctx]);
    expect(down.status).not.toBe(0);
    expect(down.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(kiln(root, ['images']).stdout).not.toMatch(/127\.0\.0\.1:1\/app/);
  });
});
