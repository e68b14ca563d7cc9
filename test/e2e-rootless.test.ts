import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kilnBin, repoRoot, run, tempDir, writeContext, type Result } from './support/kiln.js';

/*
 * Rootless mode end to end: the test (as root) creates unprivileged users, then runs the real
 * `kiln` binary as them through runuser: one user with subordinate ids (/etc/subuid and
 * /etc/subgid, allocated by useradd), one without (the single-id fallback). The images they build
 * are checked as root with umoci and tar. Both users and their files are removed at the end.
 */
const missing = ['/usr/bin/newuidmap', '/usr/bin/newgidmap', '/usr/sbin/useradd', '/usr/sbin/runuser'].filter(
  (tool) => !existsSync(tool),
);
const isRoot = process.getuid?.() === 0;
const describeRootless = isRoot && missing.length === 0 ? describe : describe.skip;
if (!isRoot) console.warn('skipping rootless tests: creating test users needs root');
else if (missing.length > 0)
  console.warn(
    `skipping rootless tests: ${missing.join(', ')} missing (apt-get install uidmap passwd util-linux)`,
  );

const tmp = tempDir('kiln-rootless-');
const suffix = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
/** Has subordinate ids. */
const mapped = { name: `kilnrl${suffix}`, home: join(tmp.path, 'home-mapped') };
/** Has none: the single-id fallback. */
const single = { name: `kilnrs${suffix}`, home: join(tmp.path, 'home-single') };
const created: string[] = [];

/** Runs kiln as `user` with a clean environment (only PATH and HOME), from the user's home. */
function kilnAs(user: { name: string; home: string }, args: readonly string[]): Result {
  const r = spawnSync(
    'runuser',
    [
      '-u',
      user.name,
      '--',
      'env',
      '-i',
      `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
      `HOME=${user.home}`,
      kilnBin,
      ...args,
    ],
    { encoding: 'utf8', timeout: 300_000, cwd: user.home },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOk(r: Result): void {
  if (r.status !== 0) throw new Error(`kiln exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
}

function addUser(user: { name: string; home: string }, extra: readonly string[]): number {
  run('useradd', ['-M', '-d', user.home, '-s', '/bin/sh', ...extra, user.name]);
  created.push(user.name);
  mkdirSync(user.home);
  const uid = Number(run('id', ['-u', user.name]).trim());
  chownSync(user.home, uid, Number(run('id', ['-g', user.name]).trim()));
  return uid;
}

/** The user's first subordinate range in `file`, adding one past every existing range if useradd did not. */
function firstRange(name: string, file: string): { start: number; count: number } {
  const find = (): { start: number; count: number } | undefined => {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    const [, start, count] = line?.split(':') ?? [];
    return start === undefined ? undefined : { start: Number(start), count: Number(count) };
  };
  const found = find();
  if (found !== undefined) return found;
  const ends = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length === 3)
    .map((f) => Number(f[1]) + Number(f[2]));
  const start = Math.max(100000, ...ends);
  const flag = file.endsWith('subuid') ? '--add-subuids' : '--add-subgids';
  run('usermod', [flag, `${start}-${start + 65535}`, name]);
  return find() ?? { start, count: 65536 };
}

/** The layer tars' entry names of the image in an OCI layout directory, per layer. */
function layerEntries(layout: string): string[][] {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const blob = (digest: string): string => join(layout, 'blobs', ...digest.split(':'));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as {
    layers: Array<{ digest: string }>;
  };
  return manifest.layers.map((l) =>
    run('tar', ['-tzf', blob(l.digest)])
      .split('\n')
      .filter((n) => n !== ''),
  );
}

describeRootless('rootless mode (kiln run by an unprivileged user)', () => {
  let mappedUid = 0;
  let busyboxTar = '';

  beforeAll(() => {
    // mkdtemp makes 0700: the test users must reach their homes and the inputs below it.
    chmodSync(tmp.path, 0o755);
    mappedUid = addUser(mapped, []);
    firstRange(mapped.name, '/etc/subuid');
    firstRange(mapped.name, '/etc/subgid');
    addUser(single, ['-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0']);
    const probe = spawnSync('runuser', ['-u', mapped.name, '--', 'unshare', '-U', '-r', 'true'], {
      encoding: 'utf8',
    });
    if (probe.status !== 0)
      throw new Error(
        `unprivileged user namespaces do not work here (unshare -U -r as a user): ${probe.stderr}`,
      );
    // A tar made by root keeps root's ownership in its headers (a directory owned by host root
    // would read as "nobody" inside the user's namespace).
    const rootfs = join(tmp.path, 'busybox-rootfs');
    run('bash', [join(repoRoot, 'scripts', 'make-busybox-rootfs.sh'), rootfs]);
    busyboxTar = join(tmp.path, 'busybox.tar');
    run('tar', ['-C', rootfs, '-cf', busyboxTar, '.']);
    chmodSync(busyboxTar, 0o644);
  });

  afterAll(() => {
    // userdel also removes the users' /etc/subuid and /etc/subgid ranges.
    for (const name of created) spawnSync('userdel', [name]);
    tmp.cleanup();
  });

  it('builds with subordinate ids: owners, whiteouts and opaque dirs as root would get them', () => {
    const imported = kilnAs(mapped, ['import', busyboxTar, 'busybox:latest']);
    expectOk(imported);
    expect(imported.stderr).not.toMatch(/warning/);
    // The default store of a user: under ~/.local/share, owned by the user on the host.
    const store = join(mapped.home, '.local', 'share', 'kiln');
    expect(statSync(join(store, 'index.json')).uid).toBe(mappedUid);

    const ctx = writeContext(
      mapped.home,
      'ctx',
      [
        'FROM busybox:latest',
        'RUN mkdir -p /srv/data /gone /out && echo old > /gone/a && echo keep > /srv/keep && ' +
          'chown -R 1000:100 /srv && chown nobody:nogroup /srv/keep && chmod 600 /srv/keep',
        'RUN rm /bin/vi && rm -rf /gone && mkdir /gone && echo new > /gone/b',
        'RUN --network=none cat /proc/net/dev > /out/netdev && hostname > /out/hostname',
        'USER kiln',
        'RUN id > /tmp/id.txt',
        '',
      ].join('\n'),
    );
    chmodSync(ctx, 0o755);
    chmodSync(join(ctx, 'Dockerfile'), 0o644);
    const layout = join(mapped.home, 'layout');
    const built = kilnAs(mapped, [
      'build',
      '--progress',
      'plain',
      '-t',
      'rl:1',
      '--output',
      `type=oci,dest=${layout},tar=false`,
      ctx,
    ]);
    expectOk(built);
    expect(built.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);

    const bundle = join(tmp.path, 'bundle-mapped');
    run('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect(statSync(join(rootfs, 'srv'))).toMatchObject({ uid: 1000, gid: 100 });
    expect(statSync(join(rootfs, 'srv', 'data'))).toMatchObject({ uid: 1000, gid: 100 });
    expect(statSync(join(rootfs, 'srv', 'keep'))).toMatchObject({ uid: 65534, gid: 65534 });
    expect(statSync(join(rootfs, 'srv', 'keep')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(rootfs, 'bin', 'vi'))).toBe(false);
    expect(existsSync(join(rootfs, 'bin', 'sh'))).toBe(true);
    expect(readdirSync(join(rootfs, 'gone'))).toEqual(['b']);
    // --network=none: only the loopback interface (two header lines, then "lo").
    const netdev = readFileSync(join(rootfs, 'out', 'netdev'), 'utf8')
      .trim()
      .split('\n')
      .slice(2);
    expect(netdev.map((l) => l.trim().split(':')[0])).toEqual(['lo']);
    expect(readFileSync(join(rootfs, 'out', 'hostname'), 'utf8').trim()).toBe('kiln');
    // USER kiln with its supplementary group from the image's /etc/group.
    const id = readFileSync(join(rootfs, 'tmp', 'id.txt'), 'utf8');
    expect(id).toMatch(/^uid=1000\(kiln\) gid=1000\(kiln\) groups=.*100\(users\)/);
    expect(statSync(join(rootfs, 'tmp', 'id.txt'))).toMatchObject({ uid: 1000, gid: 1000 });

    // The layers carry real whiteout and opaque entries, not just the merged result.
    const entries = layerEntries(layout).flat();
    expect(entries).toContain('bin/.wh.vi');
    expect(entries).toContain('gone/.wh..wh..opq');

    // On the host, the unpacked layer's files belong to the user's subordinate ids.
    const sub = firstRange(mapped.name, '/etc/subuid');
    const layers = join(store, 'kiln', 'snapshots', 'layers');
    const withKeep = readdirSync(layers)
      .map((d) => join(layers, d, 'srv', 'keep'))
      .find((p) => existsSync(p));
    expect(withKeep).toBeDefined();
    expect(statSync(withKeep ?? '').uid).toBe(sub.start + 65534 - 1);

    // `kiln run` uses the same sandbox.
    const ran = kilnAs(mapped, ['run', '--rm', 'rl:1', 'cat', '/gone/b']);
    expectOk(ran);
    expect(ran.stdout).toBe('new\n');
  });

  it('falls back to a single-id map with a warning when the user has no subordinate ids', () => {
    const imported = kilnAs(single, ['import', busyboxTar, 'busybox:latest']);
    expectOk(imported);
    expect(imported.stderr).toContain('warning: rootless mode without subordinate ids');
    expect(imported.stderr).toContain(`none for ${single.name} in /etc/subuid`);

    const layout = join(single.home, 'layout');
    const built = kilnAs(single, [
      'build',
      '--progress',
      'plain',
      '-t',
      'hello:1',
      '--output',
      `type=oci,dest=${layout},tar=false`,
      join(repoRoot, 'examples', 'hello'),
    ]);
    expectOk(built);
    expect(built.stderr).toContain('warning: rootless mode without subordinate ids');
    const bundle = join(tmp.path, 'bundle-single');
    run('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
    const hello = join(bundle, 'rootfs', 'hello.txt');
    expect(readFileSync(hello, 'utf8')).toBe('hello from a kiln RUN step\n');
    expect(statSync(hello)).toMatchObject({ uid: 0, gid: 0 });

    // Only root exists in that namespace: a step as another user fails and says why.
    const ctx = writeContext(single.home, 'ctx-user', 'FROM busybox:latest\nUSER kiln\nRUN true\n');
    chmodSync(ctx, 0o755);
    chmodSync(join(ctx, 'Dockerfile'), 0o644);
    const failed = kilnAs(single, ['build', '--progress', 'plain', ctx]);
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain('the user namespace does not map this id');
  });
});
