import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootlessIdMaps } from './rootless-id-maps.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-idmaps-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(subuid: string, subgid: string): Promise<{ subuidFile: string; subgidFile: string }> {
  const subuidFile = join(dir, `subuid-${Math.random()}`);
  const subgidFile = join(dir, `subgid-${Math.random()}`);
  await writeFile(subuidFile, subuid);
  await writeFile(subgidFile, subgid);
  return { subuidFile, subgidFile };
}

it('maps 0 to the user and stacks the subordinate ranges from 1', async () => {
  const maps = rootlessIdMaps({
    uid: 1500,
    gid: 1600,
    user: 'alice',
    ...(await files('alice:100000:65536\nalice:300000:100\n', '1500:200000:1000\n')),
  });
  expect(maps.singleId).toBe(false);
  expect(maps.warning).toBeUndefined();
  expect(maps.uidMap).toEqual([
    { inside: 0, outside: 1500, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
    { inside: 65537, outside: 300000, count: 100 },
  ]);
  expect(maps.gidMap).toEqual([
    { inside: 0, outside: 1600, count: 1 },
    { inside: 1, outside: 200000, count: 1000 },
  ]);
});

it('falls back to a single-id map, with a warning naming the file, when ranges are missing', async () => {
  const maps = rootlessIdMaps({
    uid: 1500,
    gid: 1600,
    user: 'bob',
    ...(await files('alice:100000:65536\n', '')),
  });
  expect(maps.singleId).toBe(true);
  expect(maps.uidMap).toEqual([{ inside: 0, outside: 1500, count: 1 }]);
  expect(maps.gidMap).toEqual([{ inside: 0, outside: 1600, count: 1 }]);
  expect(maps.warning).toContain('none for bob in /etc/subuid');
  const noGids = rootlessIdMaps({ uid: 1, gid: 1, user: 'bob', ...(await files('bob:100000:10\n', '')) });
  expect(noGids.singleId).toBe(true);
  expect(noGids.warning).toContain('/etc/subgid');
});

it('treats missing files as no ranges', () => {
  const maps = rootlessIdMaps({
    uid: 1,
    gid: 1,
    user: 'x',
    subuidFile: join(dir, 'absent'),
    subgidFile: join(dir, 'absent'),
  });
  expect(maps.singleId).toBe(true);
});
