import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildUnpacked, buildUnpackedOk, kiln, run, tempDir, writeContext } from './support/kiln.js';

// ADD of local archives and COPY wildcards, as BuildKit does them (each case was compared with
// Docker 20.10's BuildKit): a file is unpacked only when it decompresses to a tar, in any of the
// compressions the Dockerfile reference lists (zstd too, as newer Docker); member names are
// cleaned into the destination; a wildcard that matches nothing copies nothing.

const tmp = tempDir('kiln-add-archives-');
const root = join(tmp.path, 'store');
afterAll(() => tmp.cleanup());

const build = (ctx: string): ReturnType<typeof buildUnpacked> =>
  buildUnpacked(root, tmp.path, ctx, { tag: 'archives:t' });
const buildOk = (ctx: string): ReturnType<typeof buildUnpackedOk> =>
  buildUnpackedOk(root, tmp.path, ctx, { tag: 'archives:t' });
const sh = (cwd: string, script: string): void => void run('bash', ['-c', `cd '${cwd}' && ${script}`]);

/** A tree `top/{one, lnk -> one, sub/two (4750)}` to archive, under `parent/src`. */
function tree(parent: string): string {
  const src = join(parent, 'src');
  mkdirSync(join(src, 'top', 'sub'), { recursive: true });
  writeFileSync(join(src, 'top', 'one'), 'one\n');
  symlinkSync('one', join(src, 'top', 'lnk'));
  writeFileSync(join(src, 'top', 'sub', 'two'), 'two\n');
  sh(src, 'chmod 4750 top/sub/two');
  return src;
}

describe('ADD of a local file', () => {
  it('copies gzip, bzip2, xz and zstd files that are not tars unchanged (empty, short, random too)', () => {
    const ctx = writeContext(
      tmp.path,
      'not-tars',
      'FROM scratch\nADD notes.txt.gz /g1/\nADD small.gz empty.gz random.gz notgz.gz /g2/\n' +
        'ADD p.bz2 p.xz p.zst /g3/\n',
      { 'notgz.gz': 'plain text named .gz\n' },
    );
    const lines = Array.from({ length: 3000 }, (_, i) => `${i + 1}\n`).join('');
    writeFileSync(join(ctx, 'notes.txt.gz'), gzipSync(lines));
    writeFileSync(join(ctx, 'small.gz'), gzipSync('plain\n'));
    writeFileSync(join(ctx, 'empty.gz'), gzipSync(Buffer.alloc(0)));
    writeFileSync(join(ctx, 'random.gz'), gzipSync(randomBytes(2000)));
    sh(ctx, 'printf plain | bzip2 > p.bz2 && printf plain | xz > p.xz && printf plain | zstd -q > p.zst');
    const { rootfs } = buildOk(ctx);
    const same = (name: string, dir: string): void =>
      expect(readFileSync(join(rootfs, dir, name)).equals(readFileSync(join(ctx, name)))).toBe(true);
    same('notes.txt.gz', 'g1');
    for (const name of ['small.gz', 'empty.gz', 'random.gz', 'notgz.gz']) same(name, 'g2');
    for (const name of ['p.bz2', 'p.xz', 'p.zst']) same(name, 'g3');
  });

  it('unpacks tar.bz2, tar.xz and tar.zst archives, told by content, with modes and symlinks', () => {
    const ctx = writeContext(
      tmp.path,
      'compressed-tars',
      'FROM scratch\nADD t.tar.bz2 /x3/\nADD t.tar.xz /x4/\nADD t.tar.zst /x5/\nADD renamed.bin /x6/\n',
    );
    const src = tree(join(tmp.path, 'compressed-src'));
    sh(src, `tar -cjf '${ctx}/t.tar.bz2' top && tar -cJf '${ctx}/t.tar.xz' top`);
    sh(src, `tar --zstd -cf '${ctx}/t.tar.zst' top && cp '${ctx}/t.tar.xz' '${ctx}/renamed.bin'`);
    const { rootfs } = buildOk(ctx);
    for (const dest of ['x3', 'x4', 'x5', 'x6']) {
      expect(readFileSync(join(rootfs, dest, 'top', 'one'), 'utf8')).toBe('one\n');
      expect(readlinkSync(join(rootfs, dest, 'top', 'lnk'))).toBe('one');
      expect(lstatSync(join(rootfs, dest, 'top', 'sub', 'two')).mode & 0o7777).toBe(0o4750);
      expect(existsSync(join(rootfs, dest, 't.tar.xz'))).toBe(false);
    }
  });

  it('names the missing program (and its package) when it cannot decompress an archive', () => {
    const ctx = writeContext(tmp.path, 'no-xz', 'FROM scratch\nADD t.tar.xz /x/\n');
    sh(tree(join(tmp.path, 'no-xz-src')), `tar -cJf '${ctx}/t.tar.xz' top`);
    // A PATH with what the kiln launcher needs, and no xz.
    const bin = join(tmp.path, 'bin-without-xz');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const tool of ['sh', 'dirname', 'sed', 'uname'])
      symlinkSync(run('which', [tool]).trim(), join(bin, tool));
    const r = kiln(root, ['build', '--progress', 'plain', ctx], { PATH: bin });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:1: ADD needs the "xz" program to unpack');
    expect(r.stderr).toContain('apt-get install xz-utils');
  });

  it('reports a truncated archive at the ADD, naming it, and tags nothing', () => {
    const ctx = writeContext(tmp.path, 'truncated', 'FROM scratch\nADD t.tar.gz /x/\nADD t.tar.xz /y/\n');
    const src = tree(join(tmp.path, 'truncated-src'));
    // Big enough that the first block still decompresses (it is an archive), cut before its end.
    writeFileSync(join(src, 'top', 'big'), randomBytes(200_000));
    sh(src, `tar -czf full.tar.gz top && head -c 100000 full.tar.gz > '${ctx}/t.tar.gz'`);
    const gz = kiln(root, ['build', '--progress', 'plain', '-t', 'truncated:1', ctx]);
    expect(gz.status).toBe(1);
    expect(gz.stderr).toContain('Dockerfile:2:1: ADD cannot unpack t.tar.gz: ');
    expect(gz.stderr).toContain('ADD --unpack=false');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nADD t.tar.xz /y/\n');
    sh(src, `tar -cJf full.tar.xz top && head -c 100000 full.tar.xz > '${ctx}/t.tar.xz'`);
    const xz = kiln(root, ['build', '--progress', 'plain', '-t', 'truncated:1', ctx]);
    expect(xz.status).toBe(1);
    expect(xz.stderr).toContain('Dockerfile:2:1: ADD cannot unpack t.tar.xz: xz -dc');
    expect(kiln(root, ['images']).stdout).not.toContain('truncated');
    expect(kiln(root, ['store', 'verify']).status).toBe(0);
  });

  it('cleans member names as BuildKit does: "../x", "/abs/x" and "./a/../../b" land inside dest', () => {
    const ctx = writeContext(
      tmp.path,
      'odd-names',
      'FROM scratch\nADD dotdot.tar /t/\nADD abs.tar /t/\nADD mid.tar /t/\n',
    );
    const files = join(tmp.path, 'odd-names-src');
    mkdirSync(files);
    sh(files, 'echo esc > escape.txt && echo abs > file.txt && ln file.txt hl && echo b > b');
    // -P keeps what GNU tar would strip; the hardlink's target is rewritten like its name.
    sh(files, `tar -cPf '${ctx}/dotdot.tar' --transform='s,^,../../,' escape.txt`);
    sh(files, `tar -cPf '${ctx}/abs.tar' --transform='s,^,/abs/,' file.txt hl`);
    sh(files, `tar -cPf '${ctx}/mid.tar' --transform='s,^,./a/../../,' b`);
    const { rootfs } = buildOk(ctx);
    expect(readFileSync(join(rootfs, 't', 'escape.txt'), 'utf8')).toBe('esc\n');
    expect(readFileSync(join(rootfs, 't', 'abs', 'file.txt'), 'utf8')).toBe('abs\n');
    expect(lstatSync(join(rootfs, 't', 'abs', 'hl')).ino).toBe(
      lstatSync(join(rootfs, 't', 'abs', 'file.txt')).ino,
    );
    expect(readFileSync(join(rootfs, 't', 'b'), 'utf8')).toBe('b\n');
    expect(existsSync(join(rootfs, 'escape.txt'))).toBe(false);
    expect(existsSync(join(rootfs, 'abs'))).toBe(false);
  });

  it('refuses a member beneath a symlink of the same archive (lnk -> /etc, lnk/pwned)', () => {
    const ctx = writeContext(tmp.path, 'symlink-escape', 'FROM scratch\nADD sym.tar /t/\n');
    const files = join(tmp.path, 'symlink-escape-src');
    mkdirSync(join(files, 'd'), { recursive: true });
    sh(
      files,
      `ln -s /etc lnk && echo x > d/pwned && tar -cPf '${ctx}/sym.tar' --transform='s,^d/,lnk/,' lnk d/pwned`,
    );
    const r = build(ctx);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('lies beneath "t/lnk", a symlink in the same layer');
  });
});

describe('COPY wildcards', () => {
  it('copy nothing, without error, when they match nothing (BuildKit allows an empty wildcard)', () => {
    const ctx = writeContext(
      tmp.path,
      'empty-wildcard',
      'FROM scratch\nCOPY a /a\nCOPY *.nomatch /x/\nCOPY nomatch* /y\nCOPY nomatch* a /d/\nADD nomatch?.tar /z/\n' +
        // `*` matches the files a and Dockerfile, which have no x below them.
        'COPY */x /w/\n',
      { a: 'a\n' },
    );
    const { rootfs } = buildOk(ctx);
    expect(readFileSync(join(rootfs, 'd', 'a'), 'utf8')).toBe('a\n');
    for (const dir of ['x', 'y', 'z', 'w']) expect(existsSync(join(rootfs, dir))).toBe(false);
  });

  it('still fail for a missing path without wildcards, or when the wildcard is in a missing directory', () => {
    const missing = build(writeContext(tmp.path, 'missing', 'FROM scratch\nCOPY nomatch /x/\n'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('"nomatch" not found in the build context');
    const inMissing = build(writeContext(tmp.path, 'missing-dir', 'FROM scratch\nCOPY nodir/*.txt /x/\n'));
    expect(inMissing.status).toBe(1);
    expect(inMissing.stderr).toContain('"nodir/*.txt" not found in the build context');
  });
});
