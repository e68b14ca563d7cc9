import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';
import { kiln, kilnBin, repoRoot, tempDir, type Result } from './support/kiln.js';

// The launcher (packages/builder/bin/run-bundle.cjs) runs the CLI bundle with V8's code cache.
// Each test points it at its own directory (KILN_CODE_CACHE_DIR), so the cache next to the
// bundle, which other tests use, is left alone; the trace line says what happened.
const tmp = tempDir('kiln-code-cache-');
const root = join(tmp.path, 'store');
const MAGIC = 'kiln-v8-code-cache 1\n';
let dirs = 0;

afterAll(() => tmp.cleanup());

function cacheDir(): string {
  const dir = join(tmp.path, `cache-${++dirs}`);
  mkdirSync(dir);
  return dir;
}

function help(dir: string, env: NodeJS.ProcessEnv = {}): Result {
  return kiln(root, ['--help'], { KILN_CODE_CACHE_DIR: dir, KILN_CODE_CACHE_TRACE: '1', ...env });
}

/** The trace line: `absent|accepted|rejected (file)[; wrote file|nothing]`. */
function traced(r: Result): string {
  expect(r.status).toBe(0);
  const line = /^kiln: code cache (.*)$/m.exec(r.stderr);
  if (!line?.[1]) throw new Error(`no trace line in:\n${r.stderr}`);
  return line[1];
}

function header(file: string): { bundle: string; crc32: number; commands: string[] } {
  const buf = readFileSync(file);
  expect(buf.toString('latin1', 0, MAGIC.length)).toBe(MAGIC);
  return JSON.parse(buf.toString('utf8', MAGIC.length, buf.indexOf('\n', MAGIC.length))) as never;
}

/** A cache made by one run, and that run's file name. */
function primed(): { dir: string; file: string } {
  const dir = cacheDir();
  const file = join(dir, 'kiln.cjs.v8cache');
  expect(traced(help(dir))).toBe(`absent (${file}); wrote ${file}`);
  return { dir, file };
}

const plainHelp = (): string => kiln(root, ['--help'], { KILN_NO_CODE_CACHE: '1' }).stdout;

describe('the code cache of the CLI bundle', () => {
  it('is written by a first run and used by the next, which prints the same', () => {
    const { dir, file } = primed();
    expect(header(file).commands).toEqual(['-']);
    const second = help(dir);
    expect(traced(second)).toBe(`accepted (${file})`);
    expect(second.stdout).toBe(plainHelp());
    expect(second.stdout).toContain('Commands:');
  });

  it('grows when a command it does not cover runs, keeping what it had', () => {
    const { dir, file } = primed();
    const before = readFileSync(file).length;
    const r = kiln(root, ['images'], { KILN_CODE_CACHE_DIR: dir, KILN_CODE_CACHE_TRACE: '1' });
    expect(traced(r)).toBe(`accepted (${file}); wrote ${file}`);
    expect(header(file).commands).toEqual(['-', 'images']);
    expect(readFileSync(file).length).toBeGreaterThan(before);
    expect(traced(help(dir))).toBe(`accepted (${file})`);
  });

  (process.getuid?.() === 0 ? it : it.skip)(
    'grows when a build writes a layer where the cache only covers cached builds, and the other way round',
    () => {
      const dir = cacheDir();
      const file = join(dir, 'kiln.cjs.v8cache');
      const ctx = join(tmp.path, `ctx-${dirs}`);
      mkdirSync(ctx);
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
      writeFileSync(join(ctx, 'a.txt'), 'one\n');
      const store = join(tmp.path, `layers-${dirs}`);
      const build = (): string =>
        traced(kiln(store, ['build', '-q', ctx], { KILN_CODE_CACHE_DIR: dir, KILN_CODE_CACHE_TRACE: '1' }));
      // A layer written: the run notes it, and the cache is made for that.
      expect(build()).toBe(`absent (${file}); wrote ${file}`);
      expect(header(file).commands).toEqual(['build+layers']);
      // Fully cached: other code ran, the cache grows once.
      expect(build()).toBe(`accepted (${file}); wrote ${file}`);
      expect(header(file).commands).toEqual(['build+layers', 'build']);
      expect(build()).toBe(`accepted (${file})`);
      // A layer written again: covered.
      writeFileSync(join(ctx, 'a.txt'), 'two\n');
      expect(build()).toBe(`accepted (${file})`);
    },
  );

  it.each([
    [
      'a flipped byte in the V8 data',
      (b: Buffer) =>
        Buffer.concat([b.subarray(0, -100), Buffer.from([~b[b.length - 100]! & 0xff]), b.subarray(-99)]),
    ],
    ['a truncated file', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['a file of garbage', () => Buffer.from('not a cache\n{}\nat all')],
    ['an empty file', () => Buffer.alloc(0)],
  ])('ignores and replaces %s', (_what, corrupt) => {
    const { dir, file } = primed();
    writeFileSync(file, corrupt(readFileSync(file)));
    expect(traced(help(dir))).toBe(`absent (${file}); wrote ${file}`);
    expect(traced(help(dir))).toBe(`accepted (${file})`);
  });

  it('ignores and replaces a cache made from another bundle', () => {
    const { dir, file } = primed();
    const buf = readFileSync(file);
    const end = buf.indexOf('\n', MAGIC.length);
    const h = header(file);
    const other = JSON.stringify({ ...h, bundle: `0-${h.bundle.split('-').slice(1).join('-')}` });
    writeFileSync(file, Buffer.concat([Buffer.from(MAGIC + other), buf.subarray(end)]));
    expect(traced(help(dir))).toBe(`absent (${file}); wrote ${file}`);
    expect(header(file).bundle).toBe(h.bundle);
  });

  it('replaces whole V8 data that V8 itself refuses (made from other source)', () => {
    const { dir, file } = primed();
    const data = new Script('globalThis.answer = 42;').createCachedData();
    const h = { ...header(file), crc32: crc32(data) };
    writeFileSync(file, Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(h)}\n`), data]));
    const r = help(dir);
    expect(traced(r)).toBe(`rejected (${file}); wrote ${file}`);
    expect(r.stdout).toBe(plainHelp());
    expect(traced(help(dir))).toBe(`accepted (${file})`);
  });

  it('survives concurrent first runs: each prints the same, one whole file is left', async () => {
    const dir = cacheDir();
    const runs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
            const child = spawn(kilnBin, ['--root', root, '--help'], {
              env: { ...process.env, KILN_CODE_CACHE_DIR: dir },
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let stdout = '';
            child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
            child.once('error', reject);
            child.once('close', (status) => resolve({ status, stdout }));
          }),
      ),
    );
    const expected = plainHelp();
    for (const r of runs) expect(r).toEqual({ status: 0, stdout: expected });
    expect(readdirSync(dir)).toEqual(['kiln.cjs.v8cache']);
    const file = join(dir, 'kiln.cjs.v8cache');
    expect(traced(help(dir))).toBe(`accepted (${file})`);
  });

  it('is silently skipped where it cannot be written', () => {
    const blocker = join(tmp.path, 'a-file');
    writeFileSync(blocker, '');
    const dir = join(blocker, 'cache');
    expect(traced(help(dir))).toBe(`absent (${join(dir, 'kiln.cjs.v8cache')}); wrote nothing`);
    const quiet = kiln(root, ['--help'], { KILN_CODE_CACHE_DIR: dir });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe(plainHelp());
  });

  it('is neither read nor written with KILN_NO_CODE_CACHE=1, and KILN_NO_BUNDLE=1 still runs dist/', () => {
    const dir = cacheDir();
    expect(traced(help(dir, { KILN_NO_CODE_CACHE: '1' }))).toBe('off');
    expect(readdirSync(dir)).toEqual([]);
    const unbundled = kiln(root, ['--help'], { KILN_NO_BUNDLE: '1' });
    expect(unbundled.status).toBe(0);
    expect(unbundled.stdout).toBe(plainHelp());
  });

  const unshare = spawnSync('which', ['unshare']).status === 0 && process.getuid?.() === 0;
  (unshare ? it : it.skip)(
    'falls back to $XDG_CACHE_HOME/kiln when the bundle directory is read-only (an npm install)',
    () => {
      const dist = join(repoRoot, 'packages', 'builder', 'dist');
      const xdg = join(tmp.path, 'xdg');
      // A private mount namespace: dist/ read-only (and its own cache hidden) for this run only.
      const hide = existsSync(join(dist, 'kiln.cjs.v8cache'))
        ? ` && mount --bind /dev/null ${join(dist, 'kiln.cjs.v8cache')}`
        : '';
      const script = `mount --bind ${dist} ${dist} && mount -o remount,bind,ro ${dist}${hide} && exec "$@"`;
      const r = spawnSync(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', kilnBin, '--root', root, '--help'],
        { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: xdg, KILN_CODE_CACHE_TRACE: '1' } },
      );
      const trace = traced({ status: r.status, stdout: r.stdout, stderr: r.stderr });
      const written = /; wrote (.*)$/.exec(trace)?.[1];
      expect(written).toMatch(new RegExp(`^${xdg}/kiln/kiln\\.cjs-[0-9a-f]+\\.v8cache$`));
      expect(header(written!).commands).toEqual(['-']);
      expect(r.stdout).toBe(plainHelp());
    },
  );
});
