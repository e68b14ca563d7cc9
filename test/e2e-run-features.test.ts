import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { kiln, storeWithBusybox, tempDir, writeContext, buildUnpackedOk } from './support/kiln.js';

const tmp = tempDir('kiln-runfeat-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

const context = (name: string, dockerfile: string, files: Record<string, string> = {}): string =>
  writeContext(tmp.path, name, dockerfile, files);

/** Builds to an OCI layout, unpacks it with umoci; returns the rootfs, the layout and the progress. */
function build(ctx: string, extra: string[] = []): { rootfs: string; layout: string; stderr: string } {
  return buildUnpackedOk(root, tmp.path, ctx, { tag: 'feat:t', args: extra });
}

/** Every layer of a layout, decompressed, as one string (to look for leaked bytes). */
function allLayerBytes(layout: string): string {
  const blobs = join(layout, 'blobs', 'sha256');
  return readdirSync(blobs)
    .map((b) => readFileSync(join(blobs, b)))
    .map((buf) => (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('latin1'))
    .join('\n');
}

describe('RUN --mount', () => {
  it('keeps a cache mount between builds and out of the image', () => {
    const ctx = context(
      'cache',
      'FROM busybox\nRUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /count\n',
    );
    build(ctx);
    const { rootfs } = build(ctx, ['--no-cache']);
    expect(readFileSync(join(rootfs, 'count'), 'utf8').trim()).toBe('2');
    expect(existsSync(join(rootfs, 'var', 'cache', 'app'))).toBe(false);
  });

  it('keeps one cache per id and owner, so a step as another user gets a cache of its own', () => {
    const ctx = context(
      'cache-owner',
      [
        'FROM busybox',
        'RUN --mount=type=cache,id=shared,target=/c touch /c/by-root && ls /c > /root-saw',
        'USER 1000:1000',
        'RUN --mount=type=cache,id=shared,target=/c,uid=1000,gid=1000 touch /c/by-user && ls /c > /tmp/user-saw && stat -c %u:%g /c > /tmp/owner',
      ].join('\n'),
    );
    const { rootfs } = build(ctx);
    expect(readFileSync(join(rootfs, 'root-saw'), 'utf8')).toBe('by-root\n');
    expect(readFileSync(join(rootfs, 'tmp', 'user-saw'), 'utf8')).toBe('by-user\n');
    expect(readFileSync(join(rootfs, 'tmp', 'owner'), 'utf8')).toBe('1000:1000\n');
  });

  it('gives a secret to the step only, as a file and as an env var', () => {
    const secret = join(tmp.path, 'token.txt');
    writeFileSync(secret, 's3cret-value\n');
    const ctx = context(
      'secret',
      [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /ok1',
        'RUN --mount=type=secret,id=tok,env=TOKEN echo ${#TOKEN} > /ok2',
      ].join('\n'),
    );
    const { rootfs, layout } = build(ctx, ['--secret', `id=tok,src=${secret}`]);
    expect(readFileSync(join(rootfs, 'ok1'), 'utf8').trim()).toBe('13');
    expect(readFileSync(join(rootfs, 'ok2'), 'utf8').trim()).toBe('12');
    expect(existsSync(join(rootfs, 'run', 'secrets', 'tok'))).toBe(false);
    // Not in any layer, config or manifest of the image.
    expect(allLayerBytes(layout).includes('s3cret-value')).toBe(false);
    const missing = kiln(root, ['build', '-q', ctx]);
    expect(missing.status).toBe(1);
  });

  it('binds context files read-only and re-runs when they change', () => {
    const ctx = context(
      'bind',
      'FROM busybox\nRUN --mount=type=bind,source=src,target=/src cat /src/a > /a && ! touch /src/new 2>/dev/null\n',
      { 'src/a': 'one\n' },
    );
    const first = build(ctx);
    expect(readFileSync(join(first.rootfs, 'a'), 'utf8')).toBe('one\n');
    expect(existsSync(join(first.rootfs, 'src'))).toBe(false);
    expect(build(ctx).stderr).toContain('CACHED');
    writeFileSync(join(ctx, 'src', 'a'), 'two\n');
    const changed = build(ctx);
    expect(changed.stderr).not.toContain('CACHED');
    expect(readFileSync(join(changed.rootfs, 'a'), 'utf8')).toBe('two\n');
  });

  it('binds another stage’s or image’s files with from=, read-only unless rw, and rebuilds when they change', () => {
    const dockerfile = (version: string): string =>
      [
        'FROM busybox AS builder',
        'RUN mkdir -p /out/sub && echo one > /out/a && ln -s a /out/link && chown 7:8 /out/sub',
        `RUN echo ${version} > /out/sub/b`,
        'FROM busybox',
        'RUN --mount=type=bind,from=builder,source=/out,target=/in cat /in/a /in/sub/b /in/link > /got \\',
        '  && stat -c %u:%g /in/sub > /owner && (touch /in/new 2>/dev/null && echo rw > /ro || echo ro > /ro)',
        'RUN --mount=type=bind,from=builder,source=/out,target=/in,rw echo x > /in/a && cat /in/a > /wrote',
        'RUN --mount=type=bind,from=builder,source=/out/a,target=/one cat /one > /file',
        'RUN --mount=type=bind,from=busybox,source=/bin,target=/img ls /img/busybox > /image',
      ].join('\n');
    const ctx = context('bind-from', dockerfile('two'));
    const first = build(ctx);
    const read = (p: string): string => readFileSync(join(first.rootfs, p), 'utf8');
    expect(read('got')).toBe('one\ntwo\none\n');
    expect(read('owner')).toBe('7:8\n');
    expect(read('ro')).toBe('ro\n');
    expect(read('wrote')).toBe('x\n');
    expect(read('file')).toBe('one\n');
    expect(read('image')).toBe('/img/busybox\n');
    expect(existsSync(join(first.rootfs, 'in'))).toBe(false);
    // The rw write went nowhere: the next step saw the stage's file as it was.
    expect(build(ctx).stderr).toContain('CACHED');
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile('three'));
    const changed = build(ctx);
    expect(readFileSync(join(changed.rootfs, 'got'), 'utf8')).toBe('one\nthree\none\n');
    // Nothing of the linked trees is left in the store's temporary directory.
    expect(readdirSync(join(root, 'kiln', 'tmp'))).toEqual([]);
    const missing = context(
      'bind-from-missing',
      'FROM busybox AS b\nFROM busybox\nRUN --mount=type=bind,from=b,source=/nope,target=/in true\n',
    );
    const r = kiln(root, ['build', '-q', missing]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Dockerfile:3:1: bind mount source "/nope" not found in stage b');
  });

  it('mounts a tmpfs that leaves nothing behind', () => {
    const ctx = context(
      'tmpfs',
      'FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=1m echo x > /scratch/f && df -k /scratch | tail -1 > /df\n',
    );
    const { rootfs } = build(ctx);
    expect(readFileSync(join(rootfs, 'df'), 'utf8')).toMatch(/\s1024\s/);
    expect(existsSync(join(rootfs, 'scratch'))).toBe(false);
  });
});

describe('RUN heredocs', () => {
  it('runs a heredoc script and feeds heredocs to commands', () => {
    const ctx = context(
      'heredoc',
      [
        'FROM busybox',
        'RUN <<EOF',
        'echo one > /h1',
        'echo two >> /h1',
        'EOF',
        'RUN cat <<-A > /x && cat <<"B" > /y',
        '\tfrom $HOME',
        'A',
        'kept $HOME',
        'B',
        '',
      ].join('\n'),
    );
    const { rootfs } = build(ctx);
    expect(readFileSync(join(rootfs, 'h1'), 'utf8')).toBe('one\ntwo\n');
    expect(readFileSync(join(rootfs, 'x'), 'utf8')).toBe('from /root\n');
    expect(readFileSync(join(rootfs, 'y'), 'utf8')).toBe('kept $HOME\n');
  });
});

describe('build --add-host', () => {
  it("adds lines to every RUN step's /etc/hosts, keys the step by them, and refuses a malformed one", () => {
    const ctx = context('add-host', 'FROM busybox\nRUN cat /etc/hosts > /hosts\n');
    const hosts = ['--add-host', 'db:10.0.0.5', '--add-host', 'v6=[2001:db8::1]'];
    const { rootfs } = build(ctx, hosts);
    const lines = readFileSync(join(rootfs, 'hosts'), 'utf8').split('\n');
    expect(lines.slice(-3)).toEqual(['10.0.0.5\tdb', '2001:db8::1\tv6', '']);
    expect(lines[0]).toMatch(/^127\.0\.0\.1\tlocalhost/);

    expect(build(ctx, hosts).stderr).toContain('CACHED');
    const other = build(ctx, ['--add-host', 'db:10.0.0.6']);
    expect(other.stderr).not.toContain('CACHED');
    expect(readFileSync(join(other.rootfs, 'hosts'), 'utf8')).toContain('10.0.0.6\tdb\n');

    const bad = kiln(root, ['build', '-q', '--add-host', 'db:not-an-ip', ctx]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('invalid --add-host "db:not-an-ip"');
  });
});

describe('build --ulimit', () => {
  it('sets the resource limits of every RUN step, keys the step by them, and refuses a malformed one', () => {
    const ctx = context('ulimit', 'FROM busybox\nRUN echo "$(ulimit -Sn) $(ulimit -Hn)" > /nofile\n');
    const { rootfs } = build(ctx, ['--ulimit', 'nofile=512:1024']);
    expect(readFileSync(join(rootfs, 'nofile'), 'utf8')).toBe('512 1024\n');
    expect(build(ctx, ['--ulimit', 'nofile=512:1024']).stderr).toContain('CACHED');
    const other = build(ctx, ['--ulimit', 'nofile=256']);
    expect(readFileSync(join(other.rootfs, 'nofile'), 'utf8')).toBe('256 256\n');

    const bad = kiln(root, ['build', '-q', '--ulimit', 'nofile=9:8', ctx]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('invalid --ulimit "nofile=9:8"');
  });
});
