import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, storeWithBusybox, tempDir, writeContext, buildUnpackedOk } from './support/kiln.js';

const tmp = tempDir('kiln-stages-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

/** Writes a context with this Dockerfile and returns its path. */
const context = (name: string, dockerfile: string, files: Record<string, string> = {}): string =>
  writeContext(tmp.path, name, dockerfile, files);

/** Builds with an OCI layout output and unpacks it with umoci; returns the rootfs path. */
function buildAndUnpack(ctx: string, extra: string[] = []): { rootfs: string; stderr: string } {
  return buildUnpackedOk(root, tmp.path, ctx, { tag: 'stages:t', args: extra });
}

describe('multi-stage builds', () => {
  it('copies from a stage by name and by index, and from an image', () => {
    const ctx = context(
      'from',
      [
        'FROM busybox AS build',
        'RUN mkdir -p /out/sub && echo compiled > /out/app && echo nested > /out/sub/n && ln -s app /out/link',
        'FROM busybox',
        'RUN echo second > /second',
        'FROM scratch',
        'COPY --from=build /out/ /app/',
        'COPY --from=1 /second /second',
        'COPY --from=build /out/link /followed',
        'COPY --from=busybox:latest /bin/busybox /bin/',
        'COPY --from=busybox:latest /etc/passwd /etc/group /etc/',
        'COPY --from=build --chown=kiln:users /out/app /owned',
        'COPY --from=build --chown=:users /out/app /group-only',
        'COPY --from=build --chown=:100 /out/app /gid-only',
      ].join('\n'),
    );
    const { rootfs } = buildAndUnpack(ctx);
    expect(readFileSync(join(rootfs, 'app', 'app'), 'utf8')).toBe('compiled\n');
    expect(readFileSync(join(rootfs, 'app', 'sub', 'n'), 'utf8')).toBe('nested\n');
    expect(lstatSync(join(rootfs, 'app', 'link')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(rootfs, 'second'), 'utf8')).toBe('second\n');
    expect(lstatSync(join(rootfs, 'followed')).isFile()).toBe(true);
    expect(lstatSync(join(rootfs, 'bin', 'busybox')).isFile()).toBe(true);
    const owned = lstatSync(join(rootfs, 'owned'));
    expect([owned.uid, owned.gid]).toEqual([1000, 100]);
    // No user before the colon: root's, in that group (as BuildKit).
    for (const name of ['group-only', 'gid-only']) {
      const st = lstatSync(join(rootfs, name));
      expect([name, st.uid, st.gid]).toEqual([name, 0, 100]);
    }
  });

  it('runs independent stages at the same time, and one after the other with --jobs 1', () => {
    const stage = (name: string) => [
      `FROM busybox AS ${name}`,
      `RUN echo ${name} > /name && cut -d' ' -f1 /proc/uptime > /start && sleep 2 && cut -d' ' -f1 /proc/uptime > /end`,
    ];
    const ctx = context(
      'parallel',
      [
        ...stage('a'),
        ...stage('b'),
        'FROM busybox',
        'COPY --from=a /start /a-start',
        'COPY --from=a /end /a-end',
        'COPY --from=b /start /b-start',
        'COPY --from=b /end /b-end',
      ].join('\n'),
    );
    const times = (rootfs: string) => {
      const t = (f: string) => Number(readFileSync(join(rootfs, f), 'utf8').trim());
      return { a: [t('a-start'), t('a-end')] as const, b: [t('b-start'), t('b-end')] as const };
    };
    const parallel = times(buildAndUnpack(ctx, ['--jobs', '2']).rootfs);
    expect(parallel.a[0] < parallel.b[1] && parallel.b[0] < parallel.a[1]).toBe(true);
    const serial = times(buildAndUnpack(ctx, ['--jobs', '1', '--no-cache']).rootfs);
    expect(serial.a[1] <= serial.b[0] || serial.b[1] <= serial.a[0]).toBe(true);
  });

  it('computes identical steps of concurrent stages once', () => {
    const ctx = context(
      'dedupe',
      [
        'FROM busybox AS one',
        'RUN echo same-$((1+1)) > /x',
        'FROM busybox AS two',
        'RUN echo same-$((1+1)) > /x',
        'FROM busybox',
        'COPY --from=one /x /1',
        'COPY --from=two /x /2',
      ].join('\n'),
    );
    const r = kiln(root, ['build', '--progress', 'plain', '--jobs', '2', ctx]);
    expect(r.status).toBe(0);
    expect(r.stderr.match(/RUN echo same/g)).toHaveLength(2);
    expect(r.stderr.match(/CACHED/g)).toHaveLength(1);
  });

  it('builds only what --target needs', () => {
    const ctx = context(
      'target',
      [
        'FROM busybox AS broken',
        'RUN exit 1',
        'FROM busybox AS wanted',
        'RUN echo ok > /ok',
        'FROM broken',
      ].join('\n'),
    );
    expect(kiln(root, ['build', '-q', ctx]).status).toBe(1);
    const r = kiln(root, ['build', '--progress', 'plain', '--target', 'wanted', ctx]);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('exit 1');
  });

  it("accepts --platform and FROM --platform for this machine's platform and refuses others clearly", () => {
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'] ?? process.arch;
    const other = arch === 'amd64' ? 'linux/arm64' : 'linux/amd64';
    const ctx = context(
      'platform',
      [
        `FROM --platform=${other} busybox AS never-built`,
        'FROM --platform=$BUILDPLATFORM busybox AS build',
        'ARG TARGETPLATFORM',
        'RUN echo "$TARGETPLATFORM" > /t',
        'FROM busybox',
        'COPY --from=build /t /t',
      ].join('\n'),
    );
    const built = buildUnpackedOk(root, tmp.path, ctx, {
      tag: 'plat:1',
      args: ['--platform', `linux/${arch}`],
    });
    expect(readFileSync(join(built.rootfs, 't'), 'utf8')).toBe(`linux/${arch}\n`);

    const cross = kiln(root, ['build', '-q', '--platform', `linux/${arch},${other}`, ctx]);
    expect(cross.status).toBe(1);
    expect(cross.stderr).toContain(
      `--platform: kiln builds for this machine's platform (linux/${arch}) only, not ${other}`,
    );
    const bad = kiln(root, ['build', '-q', '--platform', 'linux/nonsense', ctx]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--platform: "linux/nonsense" is not a platform');

    const foreign = context(
      'platform-from',
      `FROM busybox AS a\nFROM --platform=${other} busybox\nRUN true\n`,
    );
    const r = kiln(root, ['build', '-q', foreign]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `Dockerfile:2:1: FROM --platform=${other}: kiln builds for this machine's platform`,
    );
    expect(r.stderr).toContain(`> 2 | FROM --platform=${other} busybox`);
  });

  it('reports a --chown user missing from the image', () => {
    const ctx = context('nouser', 'FROM busybox\nCOPY --chown=nobody-here f /f\n', { f: 'x' });
    const r = kiln(root, ['build', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:1: unable to find user nobody-here');
  });
});

describe('.dockerignore', () => {
  const files = {
    'keep.txt': 'keep',
    'secret.env': 'secret',
    'logs/a.log': 'a',
    'logs/important.log': 'important',
    'build/out/x': 'x',
  };

  it('excludes what .dockerignore lists, with ! re-includes and **', () => {
    const ctx = context('ignore', 'FROM busybox\nCOPY . /ctx/\n', {
      ...files,
      '.dockerignore': '*.env\nlogs\n!logs/important.log\n**/out\n',
    });
    const { rootfs } = buildAndUnpack(ctx);
    const has = (p: string) => lstatSync(join(rootfs, 'ctx', p), { throwIfNoEntry: false }) !== undefined;
    expect(has('keep.txt')).toBe(true);
    expect(has('secret.env')).toBe(false);
    expect(has('logs/a.log')).toBe(false);
    expect(has('logs/important.log')).toBe(true);
    expect(has('build/out')).toBe(false);
  });

  it('prefers <Dockerfile>.dockerignore, and an excluded COPY source is not found', () => {
    const ctx = context('ignore2', 'FROM busybox\nCOPY keep.txt /k\n', {
      ...files,
      '.dockerignore': '',
      'Dockerfile.dockerignore': 'keep.txt\n',
    });
    const r = kiln(root, ['build', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('"keep.txt" not found in the build context');
  });
});
