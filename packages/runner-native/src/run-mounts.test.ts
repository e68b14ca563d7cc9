import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { describeChanges, mountTable, runScript } from './test/step-fixture.js';

const BUSYBOX = sha256Digest('busybox-layer');
const SECRET = 'hunter2-s3cr3t-bytes';
let base: string;
let snapshotter: Snapshotter;
let snapshots: Snapshot[];
let mountsBefore: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-mounts-'));
  snapshotter = new Snapshotter(join(base, 'store'), { kind: 'overlay' });
  await snapshotter.unpack(BUSYBOX, layerTar(busyboxEntries()));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  snapshots = [];
  mountsBefore = await mountTable(base);
});
afterEach(async () => {
  expect(await mountTable(base)).toBe(mountsBefore);
  for (const s of snapshots) await s.release();
});

async function fresh(): Promise<Snapshot> {
  const s = await snapshotter.prepare([BUSYBOX]);
  snapshots.push(s);
  return s;
}

async function hostDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  return dir;
}

describe('cache mounts', () => {
  it('persist across steps, get uid/gid/mode at creation, and never reach the changes', async () => {
    const source = await snapshotter.cacheDir('apt-cache');
    const cache = {
      type: 'cache',
      source,
      target: '/var/cache/app',
      uid: 1000,
      gid: 2000,
      mode: 0o750,
    } as const;
    const first = await fresh();
    const r1 = await runScript(first, 'stat -c "%u %g %a" /var/cache/app; echo kept > /var/cache/app/data', {
      mounts: [cache],
    });
    expect(r1).toMatchObject({ exitCode: 0, stdout: '1000 2000 750\n' });
    // The mount point /var/cache/app did not exist: it lives in the init layer, not the upper dir.
    expect(await describeChanges(first.changes())).toEqual([]);

    const second = await fresh();
    const r2 = await runScript(second, 'cat /var/cache/app/data', { mounts: [cache] });
    expect(r2).toMatchObject({ exitCode: 0, stdout: 'kept\n' });
  });

  it('sharing=locked runs steps on the same cache one at a time', async () => {
    const source = await snapshotter.cacheDir('locked-cache');
    const mounts = [{ type: 'cache', source, target: '/c', sharing: 'locked' } as const];
    // mkdir is atomic: a second step inside the critical section at the same time would fail.
    const script = 'mkdir /c/busy || exit 9; sleep 0.3; rmdir /c/busy';
    const results = await Promise.all(
      [1, 2, 3].map(async () => runScript(await fresh(), script, { mounts })),
    );
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0]);
  });

  it('sharing=private gives concurrent steps their own instance, shared lets them meet', async () => {
    const run = async (id: string, sharing: 'private' | 'shared'): Promise<string[]> => {
      const source = await snapshotter.cacheDir(id);
      const mounts = [{ type: 'cache', source, target: '/c', sharing } as const];
      const results = await Promise.all(
        ['a', 'b'].map(async (me) =>
          runScript(await fresh(), `touch /c/${me}; sleep 0.4; ls /c`, { mounts }),
        ),
      );
      return results.map((r) => r.stdout.trim().replace(/\n/g, ' '));
    };
    expect(await run('private-cache', 'private')).toEqual(['a', 'b']);
    expect(await run('shared-cache', 'shared')).toEqual(['a b', 'a b']);
  });
});

describe('secret mounts', () => {
  it('are readable at /run/secrets/<id>, read-only, mode 0400, and absent from the changes', async () => {
    const file = join(await hostDir('secrets', { token: SECRET }), 'token');
    const s = await fresh();
    const r = await runScript(
      s,
      'cat /run/secrets/token; echo; stat -c "%a %u" /run/secrets/token; echo x > /run/secrets/token || echo refused; touch /run/new',
      { mounts: [{ type: 'secret', id: 'token', source: file }] },
    );
    expect(r.stdout).toBe(`${SECRET}\n400 0\nrefused\n`);
    const changes = JSON.stringify(await describeChanges(s.changes()));
    // /run is new (touch /run/new); the secret's mount point in it is not part of the layer.
    expect(changes).toContain('"run/new"');
    expect(changes).not.toContain('secrets');
    expect(changes).not.toContain(SECRET);
    expect(await readFile(file, 'utf8')).toBe(SECRET);
  });

  it('go to a target with the given owner and mode', async () => {
    const file = join(await hostDir('secrets2', { npmrc: SECRET }), 'npmrc');
    const s = await fresh();
    const r = await runScript(s, 'stat -c "%a %u:%g" /home/bob/.npmrc; su bob -c "cat /home/bob/.npmrc"', {
      mounts: [
        {
          type: 'secret',
          id: 'npmrc',
          source: file,
          target: '/home/bob/.npmrc',
          uid: 1000,
          gid: 1000,
          mode: 0o440,
        },
      ],
    });
    expect(r.stdout).toBe(`440 1000:1000\n${SECRET}`);
    expect(await describeChanges(s.changes())).toEqual([]);
  });
});

describe('bind mounts', () => {
  it('are read-only by default', async () => {
    const dir = await hostDir('ctx-ro', { 'in.txt': 'from host' });
    const r = await runScript(
      await fresh(),
      'cat /src/in.txt; echo; touch /src/new 2>/dev/null || echo refused',
      {
        mounts: [{ type: 'bind', source: dir, target: '/src' }],
      },
    );
    expect(r.stdout).toBe('from host\nrefused\n');
  });

  it('with readwrite take writes that never reach the host nor the layer', async () => {
    const dir = await hostDir('ctx-rw', { 'in.txt': 'from host' });
    const file = join(await hostDir('ctx-file', { 'f.txt': 'file' }), 'f.txt');
    const s = await fresh();
    const r = await runScript(
      s,
      'echo changed > /src/in.txt; echo new > /src/new.txt; rm /src/in.txt; cat /src/new.txt; echo more >> /one.txt; cat /one.txt',
      {
        mounts: [
          { type: 'bind', source: dir, target: '/src', readwrite: true },
          { type: 'bind', source: file, target: '/one.txt', readwrite: true },
        ],
      },
    );
    expect(r).toMatchObject({ exitCode: 0, stdout: 'new\nfilemore\n' });
    expect(await readdir(dir)).toEqual(['in.txt']);
    expect(await readFile(join(dir, 'in.txt'), 'utf8')).toBe('from host');
    expect(await readFile(file, 'utf8')).toBe('file');
    expect(await describeChanges(s.changes())).toEqual([]);
  });
});

describe('tmpfs mounts and targets', () => {
  it('mount a sized tmpfs that is not part of the changes, and nest mounts parent first', async () => {
    const source = await snapshotter.cacheDir('nest-cache');
    const s = await fresh();
    const r = await runScript(
      s,
      'df -k /scratch | tail -n 1 | awk "{print \\$2}"; echo x > /scratch/f; ls /scratch/c',
      {
        mounts: [
          { type: 'cache', source, target: '/scratch/c/d' },
          { type: 'tmpfs', target: '/scratch', size: 2 * 1024 * 1024 },
        ],
      },
    );
    expect(r).toMatchObject({ exitCode: 0, stdout: '2048\nd\n' });
    expect(await describeChanges(s.changes())).toEqual([]);
  });

  it('refuses a target through a symlink of the image', async () => {
    await expect(
      runScript(await fresh(), 'true', { mounts: [{ type: 'tmpfs', target: '/bin/ls/x' }] }),
    ).rejects.toMatchObject({
      code: 'SETUP_FAILED',
      message: expect.stringContaining('/bin/ls is a symbolic link'),
    });
  });

  it('refuses a relative or root target before starting anything', async () => {
    const s = await fresh();
    await expect(runScript(s, 'true', { mounts: [{ type: 'tmpfs', target: 'tmp' }] })).rejects.toMatchObject({
      code: 'BAD_MOUNT',
    });
    await expect(
      runScript(s, 'true', { mounts: [{ type: 'tmpfs', target: '/a/..' }] }),
    ).rejects.toMatchObject({
      code: 'BAD_MOUNT',
    });
  });
});
