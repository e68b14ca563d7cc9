import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kilnBin, tempDir, type Result } from './support/kiln.js';

// kiln's global options (`--root`, `--insecure-registry`, `--registry-ca`) as yargs reads them:
// `--root` twice is an array, a flag without a value is '', `--no-root` is false, `--root.x` an
// object. Each of those is a usage error (exit 2) before the command runs, never a store at the
// default root or a Node error from path.join; what the push bundle declines (push-main.ts),
// the whole CLI reports the same way. A command's own options that take a value are usage errors
// without one, too.
const tmp = tempDir('kiln-global-options-');
afterAll(() => tmp.cleanup());

/** Where the usage errors run: it stays empty (no store at --root, at KILN_ROOT or in the cwd). */
const work = join(tmp.path, 'work');
beforeEach(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
});

/** The default store root of these runs (KILN_ROOT). */
const defaultRoot = join(work, 'default-root');

/** Runs `kiln ARGS` (no --root added) in {@link work}, with KILN_ROOT at {@link defaultRoot}. */
function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Result {
  const r = spawnSync(kilnBin, args, {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, KILN_ROOT: defaultRoot, ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const usage = (message: string): Result => ({
  status: 2,
  stdout: '',
  stderr: `kiln: ${message}\nRun 'kiln --help' for usage.\n`,
});

// Store roots relative to the cwd, {@link work}.
const [a, b] = ['a', 'b'];

describe('global options without one usable value', () => {
  it.each<[string[], string]>([
    [['--root', a, '--root', b, 'images'], '--root was given twice'],
    [['images', '--root', a, '--root', b, '--root', a], '--root was given 3 times'],
    [['--root', a, '--root', b, 'run', 'busybox', 'true'], '--root was given twice'],
    [['images', '--root'], '--root needs a path'],
    [['--root', '--insecure-registry', 'h:5000', 'images'], '--root needs a path'],
    [['--root=', 'images'], '--root needs a path'],
    [['--root', '', 'images'], '--root needs a path'],
    [['--no-root', 'images'], '--root needs a path'],
    [['--root.x', a, 'images'], '--root needs a path'],
    [['images', '--insecure-registry'], '--insecure-registry needs a host[:port]'],
    [
      ['--insecure-registry', 'h:5000', '--insecure-registry=', 'images'],
      '--insecure-registry needs a host[:port]',
    ],
    [['images', '--registry-ca'], '--registry-ca needs a file'],
    [['--registry-ca', '/ca.pem', 'images', '--registry-ca'], '--registry-ca needs a file'],
    [['--no-registry-ca', 'images'], '--registry-ca needs a file'],
  ])('kiln %j is a usage error that creates no store', (args, message) => {
    expect(run(args)).toEqual(usage(message));
    expect(readdirSync(work)).toEqual([]);
  });

  it.each<[string[], string]>([
    [['push', 'app', '--root'], '--root needs a path'],
    [['--root', a, 'push', 'app', '--root', b], '--root was given twice'],
    [['push', 'app', '--root='], '--root needs a path'],
    [['push', 'app', '--insecure-registry'], '--insecure-registry needs a host[:port]'],
    [['push', 'app', 'reg/app', '--registry-ca'], '--registry-ca needs a file'],
  ])('kiln %j: the push bundle declines it and the whole CLI reports it, bundled or not', (args, message) => {
    expect(run(args)).toEqual(usage(message));
    expect(run(args, { KILN_NO_BUNDLE: '1' })).toEqual(usage(message));
    expect(readdirSync(work)).toEqual([]);
  });

  it('one --root and repeated registry options are still taken', () => {
    const root = join(tmp.path, 'store');
    const args = ['--root', root, 'images', '--insecure-registry', 'h:1', '--insecure-registry=h:2'];
    const r = run([...args, '--registry-ca', '/ca.pem', '--registry-ca=/other.pem']);
    expect(r).toEqual({ status: 0, stdout: 'NAME   TAG   DIGEST   CREATED   SIZE\n', stderr: '' });
    expect(existsSync(root)).toBe(true);
    expect(existsSync(defaultRoot)).toBe(false);
  });
});

it('`kiln run` takes --root once too (it parses what follows `run` itself)', () => {
  expect(run(['run', '--root', a, '--root', b, 'busybox', 'true'])).toEqual({
    status: 125,
    stdout: '',
    stderr: "error: --root was given twice\nhint: see 'kiln run --help'\n",
  });
  expect(readdirSync(work)).toEqual([]);
});

describe("a command's option without its value", () => {
  // yargs would otherwise take `-t` at the end for '' (a build without a tag, silently) and
  // `--jobs` for NaN; docker says "flag needs an argument".
  it.each<[string[], string]>([
    [['build', '.', '-t'], 't'],
    [['build', '.', '-f'], 'f'],
    [['build', '.', '--build-arg'], 'build-arg'],
    [['build', '.', '--jobs'], 'jobs'],
    [['build', '.', '--cache-from'], 'cache-from'],
    [['prune', '--keep-storage'], 'keep-storage'],
    [['save', 'app', '-o'], 'o'],
    [['load', '-i'], 'i'],
    [['login', 'h:5000', '-u'], 'u'],
  ])('kiln %j is a usage error that creates no store', (args, flag) => {
    expect(run(args)).toEqual(usage(`Not enough arguments following: ${flag}`));
    expect(readdirSync(work)).toEqual([]);
  });
});
