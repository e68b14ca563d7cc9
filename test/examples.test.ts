import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, repoRoot, run, storeWithBusybox, tempDir } from './support/kiln.js';

const tmp = tempDir('kiln-examples-');
const root = join(tmp.path, 'store');
const example = (name: string): string => join(repoRoot, 'examples', name);

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

/** Builds an example, then runs its image with `kiln run`; returns the container's output. */
function buildAndRun(name: string, runArgs: readonly string[] = []): string {
  const built = kiln(root, ['build', '-q', '-t', `${name}:test`, example(name)]);
  expect({ name, stderr: built.stderr, status: built.status }).toEqual({ name, stderr: '', status: 0 });
  const ran = kiln(root, ['run', '--rm', `${name}:test`, ...runArgs]);
  expect({ name, status: ran.status, stderr: ran.stderr }).toEqual({ name, status: 0, stderr: '' });
  return ran.stdout;
}

let debianImported: boolean | undefined;

/**
 * Imports `debian:bookworm` (debootstrap, ~40 s) into the store the first time an example needs
 * it; false (with a warning) when the Debian mirror, the one network peer here, does not resolve.
 */
function debianBase(example: string): boolean {
  if (debianImported !== undefined) return debianImported;
  if (spawnSync('getent', ['hosts', 'deb.debian.org']).status !== 0) {
    console.warn(`skipping examples/${example}: the Debian mirror (deb.debian.org) does not resolve here`);
    return (debianImported = false);
  }
  const rootfs = join(tmp.path, 'debian-rootfs');
  run('bash', [join(repoRoot, 'scripts', 'make-debian-rootfs.sh'), rootfs]);
  expect(kiln(root, ['import', rootfs, 'debian:bookworm']).status).toBe(0);
  rmSync(rootfs, { recursive: true, force: true });
  return (debianImported = true);
}

describe('examples/ build and run', () => {
  it('hello', () => {
    expect(buildAndRun('hello')).toBe('hello from a kiln RUN step\nhello from the build context\n');
  });

  it('multistep', () => {
    expect(buildAndRun('multistep')).toBe('hello\n');
  });

  it('heredoc', () => {
    expect(buildAndRun('heredoc')).toBe('hello from a heredoc\n');
  });

  it('cache-mount: the cache survives --no-cache rebuilds and stays out of the image', () => {
    expect(buildAndRun('cache-mount')).toBe('50000\n');
    const again = kiln(root, ['build', '--progress', 'plain', '--no-cache', example('cache-mount')]);
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain('downloading');
    expect(kiln(root, ['run', '--rm', 'cache-mount:test', 'ls', '/cache']).stdout).toBe('');
  });

  it('static-site: pages, EXPOSE and HEALTHCHECK', () => {
    expect(buildAndRun('static-site', ['cat', '/www/index.html'])).toContain(
      'Welcome to a site built by kiln.',
    );
    const layout = join(tmp.path, 'site-layout');
    expect(
      kiln(root, [
        'build',
        '-q',
        '-t',
        'site:1',
        '--output',
        `type=oci,dest=${layout},tar=false`,
        example('static-site'),
      ]).status,
    ).toBe(0);
    const config = JSON.parse(run('skopeo', ['inspect', '--raw', '--config', `oci:${layout}:1`])) as {
      config: Record<string, unknown>;
    };
    expect(config.config).toMatchObject({
      ExposedPorts: { '8080/tcp': {} },
      User: 'nobody',
      Healthcheck: { Test: ['CMD-SHELL', expect.stringContaining('wget')] },
    });
  });

  it('c-program: compiled in a debootstrap Debian base, shipped in scratch', () => {
    if (!debianBase('c-program')) return;
    expect(buildAndRun('c-program')).toBe('hello from a static C program, running on Linux\n');
    const inspect = JSON.parse(kiln(root, ['inspect', 'c-program:test']).stdout) as {
      config: { rootfs: { diff_ids: string[] } };
    };
    expect(inspect.config.rootfs.diff_ids).toHaveLength(1);
  }, 600_000);

  it('node-app: Node from apt on the Debian base, non-root, and a source change keeps apt cached', () => {
    if (!debianBase('node-app')) return;
    expect(buildAndRun('node-app', ['node', 'server.js', '--once'])).toMatch(
      /^GET \/ 200 hello from node-app 1\.0\.0 on Node v\d+\.\d+\.\d+, running as uid 10001\n$/,
    );
    const config = JSON.parse(kiln(root, ['inspect', 'node-app:test']).stdout) as {
      config: { config: Record<string, unknown> };
    };
    expect(config.config.config).toMatchObject({
      User: 'app',
      Cmd: ['node', 'server.js'],
      WorkingDir: '/app',
      ExposedPorts: { '8080/tcp': {} },
    });
    // A copy of the example whose server.js changes: only the steps from COPY server.js run again.
    const copy = join(tmp.path, 'node-app-edited');
    cpSync(example('node-app'), copy, { recursive: true });
    const server = join(copy, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace('hello from', 'hi from'));
    const rebuilt = kiln(root, ['build', '--progress', 'plain', '-t', 'node-app:edited', copy]);
    expect(rebuilt.status).toBe(0);
    const cached = (step: string): boolean => {
      const id = /^#(\d+) \[/m.exec(rebuilt.stderr.split('\n').find((l) => l.includes(step)) ?? '')?.[1];
      if (id === undefined) throw new Error(`no step "${step}" in:\n${rebuilt.stderr}`);
      return rebuilt.stderr.includes(`#${id} CACHED\n`);
    };
    expect(cached('RUN --mount=type=cache,target=/var/cache/apt')).toBe(true);
    expect(cached('RUN groupadd')).toBe(true);
    expect(cached('COPY package.json')).toBe(true);
    expect(cached('COPY server.js')).toBe(false);
    const ran = kiln(root, ['run', '--rm', 'node-app:edited', 'node', 'server.js', '--once']);
    expect(ran.stdout).toMatch(/^GET \/ 200 hi from node-app/);
  }, 600_000);
});
