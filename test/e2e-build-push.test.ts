import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, ok, run, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';
import {
  describeWithRegistry,
  remoteDigest,
  startRegistry,
  type RegistryServer,
} from './support/registry-server.js';

const describeRegistry = describeWithRegistry('kiln build --push tests');

const tmp = tempDir('kiln-build-push-');
const root = join(tmp.path, 'store');
let registry: RegistryServer;

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
    const before = registry.requests().length;
    const r = kiln(root, ['build', '--push', '-t', a, '-t', b, ctx]);
    const digest = ok(r);
    // The second name's repository gets every blob by a mount from the first: no bytes again.
    const second = registry
      .requests()
      .slice(before)
      .filter((l) => l.includes(' /v2/other/app/blobs/'));
    expect(second.length).toBeGreaterThanOrEqual(3);
    expect(
      second.every((l) => /^POST \/v2\/other\/app\/blobs\/uploads\/\?mount=\S+&from=app .* 201$/.test(l)),
    ).toBe(true);
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

  it('--pull checks the registry for a newer base; without it the local copy is used', () => {
    const base = `${registry.host}/base:moving`;
    const v1 = writeContext(tmp.path, 'base-v1', 'FROM busybox\nRUN echo v1 > /version\n');
    const v2 = writeContext(tmp.path, 'base-v2', 'FROM busybox\nRUN echo v2 > /version\n');
    ok(kiln(root, ['build', '--push', '-t', base, v1]));
    // A second store pulls base v1; then the registry's tag moves to v2.
    const other = join(tmp.path, 'store-other');
    storeWithBusybox(other);
    const app = writeContext(tmp.path, 'on-moving', `FROM ${base}\nRUN cat /version > /seen\n`);
    const out = (name: string): string => join(tmp.path, name);
    ok(kiln(other, ['build', '-o', `type=local,dest=${out('seen-1')}`, app]));
    ok(kiln(root, ['build', '--push', '-t', base, v2]));
    ok(kiln(other, ['build', '-o', `type=local,dest=${out('seen-2')}`, app]));
    ok(kiln(other, ['build', '--pull', '-o', `type=local,dest=${out('seen-3')}`, app]));
    const seen = (name: string): string => readFileSync(join(out(name), 'seen'), 'utf8');
    expect([seen('seen-1'), seen('seen-2'), seen('seen-3')]).toEqual(['v1\n', 'v1\n', 'v2\n']);
    // --pull needs the registry: with it unreachable, the build fails instead of using the local copy.
    const local = writeContext(tmp.path, 'local-only', 'FROM busybox\nRUN true\n');
    ok(kiln(other, ['build', '-t', '127.0.0.1:1/base:moving', local]));
    const down = writeContext(tmp.path, 'on-down', 'FROM 127.0.0.1:1/base:moving\nRUN echo ok > /ok\n');
    ok(kiln(other, ['build', down]));
    const r = kiln(other, ['build', '--pull', down]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/base image "127\.0\.0\.1:1\/base:moving"/);
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
