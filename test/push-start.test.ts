import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, kilnBin, storeWithBusybox, tempDir, type Result } from './support/kiln.js';
import {
  describeWithRegistry,
  remoteDigest,
  startRegistry,
  type RegistryServer,
} from './support/registry-server.js';

// `kiln push` starts from a bundle of push alone (src/cli/push-main.ts) when its command line is a
// plain one, and from the whole CLI (yargs) otherwise. Which bundle ran shows in the code-cache
// trace: each test run gets its own cache directory. KILN_NO_BUNDLE=1 runs the whole CLI from
// dist/ through yargs: what the push bundle does must be what that does.
const describeRegistry = describeWithRegistry('push start tests');

const tmp = tempDir('kiln-push-start-');
const root = join(tmp.path, 'store');
let registry: RegistryServer;
let caches = 0;

/** Runs `kiln ARGS` (no --root added) with a fresh code-cache directory; `bundles` are those whose cache the run touched. */
function traced(args: readonly string[], env: NodeJS.ProcessEnv = {}): Result & { bundles: string[] } {
  const dir = join(tmp.path, `cache-${++caches}`);
  mkdirSync(dir);
  const r = spawnSync(kilnBin, args, {
    encoding: 'utf8',
    env: { ...process.env, KILN_CODE_CACHE_DIR: dir, KILN_CODE_CACHE_TRACE: '1', ...env },
    timeout: 120_000,
  });
  const trace = /^kiln: code cache .*$/gm;
  const bundles = [...r.stderr.matchAll(/^kiln: code cache \w+ \(.*\/([^/]+)\.v8cache\)/gm)].map(
    (m) => m[1] ?? '',
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(trace, '').trim(), bundles };
}

/** The same command line through the whole CLI in dist/ (yargs). */
function viaYargs(args: readonly string[]): Result {
  const r = spawnSync(kilnBin, args, { encoding: 'utf8', env: { ...process.env, KILN_NO_BUNDLE: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

describeRegistry('how kiln push starts', () => {
  let local: string;
  beforeAll(async () => {
    storeWithBusybox(root);
    registry = await startRegistry(join(tmp.path, 'registry'));
    local = (JSON.parse(kiln(root, ['inspect', 'busybox:latest']).stdout) as { digest: string }).digest;
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  it('a plain push, in any order of its options, runs the push bundle alone and pushes as the whole CLI does', () => {
    const host = registry.host;
    const forms = (n: number): string[][] => [
      ['--root', root, 'push', 'busybox:latest', `${host}/start/a:${n}`],
      ['push', 'busybox', `${host}/start/b:${n}`, `--root=${root}`, '--insecure-registry', host],
      [`--insecure-registry=${host}`, 'push', '--root', root, 'busybox:latest', `${host}/start/c:${n}`],
    ];
    for (const args of forms(1)) {
      const fast = traced(args);
      expect([args, fast.bundles]).toEqual([args, ['kiln-push.cjs']]);
      expect(fast.status).toBe(0);
      expect(fast.stdout.trim()).toBe(local);
      expect(remoteDigest(args.find((a) => a.startsWith(`${host}/`)) ?? '')).toBe(local);
    }
    // The same pushes through yargs print the same (the blobs are there now in both cases).
    for (const args of forms(2)) {
      const fast = traced(args);
      const whole = viaYargs(args.map((a) => a.replace(':2', ':3')));
      expect(fast.bundles).toEqual(['kiln-push.cjs']);
      expect({ status: fast.status, stdout: fast.stdout, stderr: sorted(fast.stderr) }).toEqual({
        status: whole.status,
        stdout: whole.stdout,
        stderr: sorted(whole.stderr),
      });
    }
  });

  it('a failed plain push reports as the whole CLI does', () => {
    const args = ['--root', root, 'push', 'nothere:1', `${registry.host}/start/none:1`];
    const fast = traced(args);
    expect(fast.bundles).toEqual(['kiln-push.cjs']);
    expect(fast.status).toBe(1);
    expect(fast.stderr).toBe('error: image "nothere:1" not found in the local store');
    expect(viaYargs(args)).toEqual({ status: fast.status, stdout: fast.stdout, stderr: fast.stderr });
  });

  it('any other push command line goes on to the whole CLI: its usage errors and help', () => {
    const cases: [string[], number, RegExp][] = [
      [['push'], 2, /Not enough non-option arguments/],
      [['push', 'a', 'b', 'c'], 2, /Unknown argument: c/],
      [['push', 'a', '--bogus'], 2, /Unknown argument: bogus/],
      // A global option without a value, or --root twice (with the one added here).
      [['push', 'a', '--registry-ca'], 2, /--registry-ca needs a file/],
      [['push', 'a', 'reg/a', '--insecure-registry'], 2, /--insecure-registry needs a host/],
      [['push', 'a', '--root', root], 2, /--root was given twice/],
      [['push', '--help'], 0, /kiln push <name> \[dest\]/],
    ];
    for (const [args, status, says] of cases) {
      const r = traced(['--root', root, ...args]);
      expect([args, r.bundles]).toEqual([args, ['kiln-push.cjs', 'kiln.cjs']]);
      expect([args, r.status]).toEqual([args, status]);
      expect(`${r.stdout}${r.stderr}`).toMatch(says);
      const whole = viaYargs(['--root', root, ...args]);
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual(whole);
    }
  });

  it("a declined run's cache of the push bundle is not taken for a push's", () => {
    const dir = join(tmp.path, 'cache-shared');
    mkdirSync(dir);
    const env = { KILN_CODE_CACHE_DIR: dir };
    expect(traced(['--root', root, 'push', '--help'], env).status).toBe(0);
    const file = join(dir, 'kiln-push.cjs.v8cache');
    expect(commands(file)).toEqual(['push+declined']);
    const pushed = traced(['--root', root, 'push', 'busybox', `${registry.host}/start/d:1`], env);
    expect(pushed.status).toBe(0);
    expect(commands(file)).toEqual(['push+declined', 'push']);
  });
});

/** The blob lines in a stable order (blobs are pushed concurrently). */
function sorted(stderr: string): string[] {
  return stderr.split('\n').sort();
}

function commands(cacheFile: string): string[] {
  const buf = readFileSync(cacheFile);
  const start = buf.indexOf('\n') + 1;
  return (JSON.parse(buf.toString('utf8', start, buf.indexOf('\n', start))) as { commands: string[] })
    .commands;
}
