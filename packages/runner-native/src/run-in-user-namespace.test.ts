import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInUserNamespace } from './run-in-user-namespace.js';
import type { RootlessIdMaps } from './rootless-id-maps.js';

// Real user namespaces through the real helper. The suite runs as root, whose own id is the
// single-id map here; unprivileged users are covered by test/e2e-rootless.test.ts.
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const single: RootlessIdMaps = {
  uidMap: [{ inside: 0, outside: uid, count: 1 }],
  gidMap: [{ inside: 0, outside: gid, count: 1 }],
  singleId: true,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-userns-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('runs the command as root of a new single-id user namespace and returns its exit code', async () => {
  const out = join(dir, 'maps');
  const script = `cat /proc/self/uid_map /proc/self/setgroups > ${out}; id -u >> ${out}; exit 7`;
  const run = runInUserNamespace(['/bin/sh', '-c', script], single, { PATH: '/usr/bin:/bin' });
  await expect(run.exited).resolves.toBe(7);
  const [map, setgroups, id] = (await readFile(out, 'utf8')).trim().split('\n');
  expect(map?.trim().split(/\s+/)).toEqual(['0', String(uid), '1']);
  expect(setgroups).toBe('deny');
  expect(id).toBe('0');
});

it('passes a signal sent to it on to the command', async () => {
  const ready = join(dir, 'ready');
  // Exit 3 only from the trap: proof that the command itself got the SIGTERM.
  const script = `trap 'kill $p; exit 3' TERM; sleep 30 & p=$!; touch ${ready}; wait`;
  const run = runInUserNamespace(['/bin/sh', '-c', script], single, { PATH: '/usr/bin:/bin' });
  while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 20));
  run.kill('SIGTERM');
  await expect(run.exited).resolves.toBe(3);
});

it('fails with USERNS_FAILED when the command cannot be started', async () => {
  const run = runInUserNamespace(['/nonexistent/kiln'], single, {});
  await expect(run.exited).rejects.toMatchObject({
    code: 'USERNS_FAILED',
    message: expect.stringContaining('exec /nonexistent/kiln'),
  });
});

it('fails with USERNS_FAILED when newuidmap refuses ranges the user does not own', async () => {
  const maps: RootlessIdMaps = {
    uidMap: [
      { inside: 0, outside: uid, count: 1 },
      { inside: 1, outside: 3_900_000_000, count: 10 },
    ],
    gidMap: [{ inside: 0, outside: gid, count: 1 }],
    singleId: false,
  };
  const run = runInUserNamespace(['/bin/true'], maps, { PATH: '/usr/bin:/bin' });
  await expect(run.exited).rejects.toMatchObject({
    code: 'USERNS_FAILED',
    message: expect.stringContaining('newuidmap'),
  });
});
