import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import { Snapshotter } from './snapshotter.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { describeChanges, mountTable, runScript } from './test/step-fixture.js';

const BUSYBOX = sha256Digest('busybox-layer');
const EXTRA = sha256Digest('extra-layer');
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-copy-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A snapshotter of `kind` with busybox and a layer exercising whiteouts, opaque dirs and hardlinks. */
async function store(kind: 'overlay' | 'copy'): Promise<Snapshotter> {
  const s = new Snapshotter(join(base, kind), { kind });
  await s.unpack(BUSYBOX, layerTar(busyboxEntries()));
  await s.unpack(
    EXTRA,
    layerTar([
      { name: 'opt/old/file', content: 'old' },
      { name: 'opt/keep/a', content: 'a', mode: 0o600, uid: 7, gid: 8 },
      { name: 'opt/keep/b', type: 'link', linkname: 'opt/keep/a' },
      { name: 'etc/.wh.group', content: '' },
      { name: 'srv/', type: 'directory', mode: 0o750 },
      { name: 'srv/.wh..wh..opq', content: '' },
      { name: 'srv/only', content: 'only' },
    ]),
  );
  return s;
}

const STEP = [
  'echo new > /new.txt',
  'ln /new.txt /new-link',
  'ln -s /new.txt /new-sym',
  'echo more >> /etc/passwd',
  'chmod 700 /tmp',
  'mkdir -p /usr/local/lib/x && echo deep > /usr/local/lib/x/f',
  'rm -rf /opt/old && mkdir /opt/old && echo replaced > /opt/old/new',
  'rm /bin/vi',
  'mkfifo /fifo',
  'chown 1000:1000 /srv/only',
  'touch /scratch/ignored /cache/kept',
  'cat /run/secrets/tok > /dev/null',
].join(' && ');

it('auto picks overlay where overlayfs works', async () => {
  expect(await new Snapshotter(join(base, 'auto')).kind()).toBe('overlay');
});

it('a copy snapshot merges layers as overlayfs does', async () => {
  const copy = await store('copy');
  const overlay = await store('overlay');
  const layers = [BUSYBOX, EXTRA];
  const list = async (s: Snapshotter): Promise<string> => {
    const snap = await s.prepare(layers);
    try {
      return (await runScript(snap, 'ls -A /etc /srv /opt/keep; stat -c "%a %u:%g %h" /opt/keep/a /srv'))
        .stdout;
    } finally {
      await snap.release();
    }
  };
  const seen = await list(copy);
  expect(seen).toBe(await list(overlay));
  expect(seen).toBe(
    '/etc:\nhostname\nhosts\npasswd\nresolv.conf\n\n/opt/keep:\na\nb\n\n/srv:\nonly\n600 7:8 2\n750 0:0 2\n',
  );
});

it('overlay and copy snapshots give the same changes for the same step, mounts excluded', async () => {
  const secret = join(base, 'tok');
  await writeFile(secret, 'secret-value');
  const results: unknown[][] = [];
  for (const kind of ['overlay', 'copy'] as const) {
    const s = await store(kind);
    const snap = await s.prepare([BUSYBOX, EXTRA]);
    const before = await mountTable(base);
    try {
      const r = await runScript(snap, STEP, {
        mounts: [
          { type: 'tmpfs', target: '/scratch' },
          { type: 'cache', source: await s.cacheDir('c'), target: '/cache' },
          { type: 'secret', id: 'tok', source: secret },
        ],
      });
      expect(r).toMatchObject({ exitCode: 0, stderr: '' });
      expect(await mountTable(base)).toBe(before);
      results.push(await describeChanges(snap.changes()));
      if (snap.kind === 'copy') {
        // The mount points the helper made in the plain rootfs are gone again.
        expect(await readdir(snap.rootfsDir)).not.toEqual(expect.arrayContaining(['proc', 'scratch', 'run']));
      }
    } finally {
      await snap.release();
    }
  }
  const [overlay, copy] = results;
  expect(copy).toEqual(overlay);
  const paths = (overlay ?? []).map(
    (c) => `${(c as { kind: string }).kind} ${JSON.stringify(c).match(/"path":"([^"]*)"/)?.[1]}`,
  );
  expect(paths).toEqual([
    'upsert bin',
    'delete bin/vi',
    'upsert etc',
    'upsert etc/passwd',
    'upsert fifo',
    'upsert new-link',
    'upsert new-sym',
    'upsert new.txt',
    'upsert opt',
    'upsert opt/old',
    'opaque opt/old',
    'upsert opt/old/new',
    'upsert srv',
    'upsert srv/only',
    'upsert tmp',
    'upsert usr',
    'upsert usr/local',
    'upsert usr/local/lib',
    'upsert usr/local/lib/x',
    'upsert usr/local/lib/x/f',
  ]);
});

it('gives a rootfs without /etc the hosts, resolv.conf and hostname files, and leaves no /etc behind', async () => {
  const NO_ETC = sha256Digest('busybox-without-etc');
  for (const kind of ['overlay', 'copy'] as const) {
    const s = new Snapshotter(join(base, `no-etc-${kind}`), { kind });
    await s.unpack(NO_ETC, layerTar(busyboxEntries().filter((e) => !e.name.startsWith('etc'))));
    const snap = await s.prepare([NO_ETC]);
    try {
      const r = await runScript(
        snap,
        'cat /etc/hosts /etc/hostname && test -f /etc/resolv.conf && echo /out > /out',
      );
      expect([kind, r.exitCode, r.stderr]).toEqual([kind, 0, '']);
      expect(r.stdout).toMatch(/^127\.0\.0\.1\tlocalhost kiln\n/);
      const changes = (await describeChanges(snap.changes())).map(
        (c) => JSON.stringify(c).match(/"path":"([^"]*)"/)?.[1],
      );
      expect([kind, changes]).toEqual([kind, ['out']]);
      if (snap.kind === 'copy') expect(await readdir(snap.rootfsDir)).not.toContain('etc');
    } finally {
      await snap.release();
    }
  }
});
