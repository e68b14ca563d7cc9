import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, repoRoot, run, storeWithBusybox, tempDir } from './support/kiln.js';

const tmp = tempDir('kiln-e2e-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

/** Builds an example with an OCI layout directory output and unpacks it with umoci. */
function buildAndUnpack(
  example: string,
  tag: string,
): { layout: string; rootfs: string; digest: string; stderr: string } {
  const layout = join(tmp.path, `${example}-layout`);
  const r = kiln(root, [
    'build',
    '--progress',
    'plain',
    '-t',
    `${example}:${tag}`,
    '--output',
    `type=oci,dest=${layout},tar=false`,
    join(repoRoot, 'examples', example),
  ]);
  expect(r.stderr).not.toMatch(/^error/m);
  expect(r.status).toBe(0);
  const digest = r.stdout.trim();
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  const bundle = join(tmp.path, `${example}-bundle`);
  run('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  return { layout, rootfs: join(bundle, 'rootfs'), digest, stderr: r.stderr };
}

function skopeoConfig(layout: string, tag: string): { config: Record<string, unknown> } {
  return JSON.parse(run('skopeo', ['inspect', '--config', `oci:${layout}:${tag}`])) as {
    config: Record<string, unknown>;
  };
}

describe('kiln build, end to end', () => {
  it('builds examples/hello into a layout umoci and skopeo accept', () => {
    const { layout, rootfs, stderr } = buildAndUnpack('hello', '1');
    expect(readFileSync(join(rootfs, 'hello.txt'), 'utf8')).toBe('hello from a kiln RUN step\n');
    expect(readFileSync(join(rootfs, 'greeting.txt'), 'utf8')).toBe('hello from the build context\n');
    expect(lstatSync(join(rootfs, 'bin', 'busybox')).isFile()).toBe(true);
    expect(stderr).toMatch(/#\d+ \[2\/3\] RUN echo/);
    const { config } = skopeoConfig(layout, '1');
    expect(config.Cmd).toEqual(['cat', '/hello.txt', '/greeting.txt']);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    expect(index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name']).toBe('1');
  });

  it('builds examples/multistep: ownership, deletions and a replaced directory', () => {
    const { layout, rootfs } = buildAndUnpack('multistep', 'v1');
    const keep = join(rootfs, 'app', 'data', 'keep.txt');
    expect(readFileSync(keep, 'utf8')).toBe('hello\n');
    expect(lstatSync(keep).uid).toBe(1000);
    expect(lstatSync(keep).gid).toBe(1000);
    expect(existsSync(join(rootfs, 'app', 'data', 'remove.txt'))).toBe(false);
    expect(existsSync(join(rootfs, 'bin', 'vi'))).toBe(false);
    expect(existsSync(join(rootfs, 'bin', 'ls'))).toBe(true);
    expect(readFileSync(join(rootfs, 'app', 'src', 'main.txt'), 'utf8')).toBe('main file\n');
    expect(readFileSync(join(rootfs, 'app', 'src', 'sub', 'new.txt'), 'utf8')).toBe('new\n');
    expect(existsSync(join(rootfs, 'app', 'src', 'sub', 'old.txt'))).toBe(false);
    const { config } = skopeoConfig(layout, 'v1');
    expect(config).toMatchObject({
      User: 'kiln',
      WorkingDir: '/app',
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['cat /app/data/keep.txt'],
      Labels: { 'org.opencontainers.image.title': 'multistep' },
      ExposedPorts: { '8080/tcp': {} },
    });
    expect(config.Env).toContain('APP_HOME=/app');
  });

  it('reuses unchanged steps and redoes a step whose COPY source changed', () => {
    const ctx = join(tmp.path, 'cache-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo built > /a\nCOPY f /f\nRUN cat /f > /g\n');
    writeFileSync(join(ctx, 'f'), 'one\n');
    const first = kiln(root, ['build', '--progress', 'plain', ctx]);
    expect(first.status).toBe(0);
    expect(first.stderr).not.toContain('CACHED');
    const second = kiln(root, ['build', '--progress', 'plain', ctx]);
    expect(second.status).toBe(0);
    expect(second.stderr.match(/CACHED/g)).toHaveLength(3);
    writeFileSync(join(ctx, 'f'), 'two\n');
    const third = kiln(root, ['build', '--progress', 'plain', '-t', 'cachetest:1', ctx]);
    expect(third.status).toBe(0);
    expect(third.stderr.match(/CACHED/g)).toHaveLength(1);
    const noCache = kiln(root, ['build', '--progress', 'plain', '--no-cache', ctx]);
    expect(noCache.status).toBe(0);
    expect(noCache.stderr).not.toContain('CACHED');
    const inspect = JSON.parse(kiln(root, ['inspect', 'cachetest:1']).stdout) as {
      config: { rootfs: { diff_ids: string[] } };
    };
    expect(inspect.config.rootfs.diff_ids).toHaveLength(4);
  });

  it('gives the same image digest for the same inputs under SOURCE_DATE_EPOCH', () => {
    const ctx = join(repoRoot, 'examples', 'hello');
    const a = kiln(root, ['build', '-q', '--no-cache', ctx], { SOURCE_DATE_EPOCH: '1700000000' });
    const b = kiln(root, ['build', '-q', '--no-cache', ctx], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it('does not reuse a layer made without SOURCE_DATE_EPOCH for a build with it', () => {
    const ctx = join(tmp.path, 'epoch-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo epoch > /e.txt\n');
    expect(kiln(root, ['build', '-q', ctx]).status).toBe(0);
    const epoch = kiln(root, ['build', '--progress', 'plain', ctx], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(epoch.status).toBe(0);
    expect(epoch.stderr).not.toContain('CACHED');
    const again = kiln(root, ['build', '--progress', 'plain', ctx], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(again.stderr).toContain('CACHED');
  });

  it('fails a RUN that exits 3 with its output and line, and tags nothing', () => {
    const ctx = join(tmp.path, 'fail-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\n\nRUN echo "about to fail" && exit 3\n');
    const r = kiln(root, ['build', '--progress', 'plain', '-t', 'failed:1', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'Dockerfile:3:1: process "/bin/sh -c echo \\"about to fail\\" && exit 3" did not complete successfully: exit code: 3'.replace(
        /\\"/g,
        '"',
      ),
    );
    expect(r.stderr).toContain('about to fail');
    expect(kiln(root, ['images']).stdout).not.toContain('failed');
    expect(kiln(root, ['inspect', 'failed:1']).status).toBe(1);
  });

  it('reports a missing COPY source at file:line:col', () => {
    const ctx = join(tmp.path, 'missing-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY nope.txt /x\n');
    const r = kiln(root, ['build', '-t', 'missing:1', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:1: COPY failed: "nope.txt" not found in the build context');
    expect(r.stderr).toContain('> 2 | COPY nope.txt /x');
    expect(kiln(root, ['inspect', 'missing:1']).status).toBe(1);
  });

  it('reports a Dockerfile syntax error with a code frame', () => {
    const ctx = join(tmp.path, 'syntax-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUNN echo\n');
    const r = kiln(root, ['build', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:1: unknown instruction "RUNN" (did you mean "RUN"?)');
  });

  it('writes an OCI layout tar and lists images', () => {
    const out = join(tmp.path, 'hello.tar');
    const r = kiln(root, [
      'build',
      '-q',
      '-t',
      'hello:tar',
      '--output',
      `type=oci,dest=${out}`,
      join(repoRoot, 'examples', 'hello'),
    ]);
    expect(r.status).toBe(0);
    const skopeo = JSON.parse(run('skopeo', ['inspect', `oci-archive:${out}:tar`])) as { Digest: string };
    expect(skopeo.Digest).toBe(r.stdout.trim());
    const images = kiln(root, ['images']).stdout;
    expect(images).toMatch(/^busybox\s+latest\s/m);
    expect(images).toMatch(/^hello\s+tar\s/m);
  });
});
