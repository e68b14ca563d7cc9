import {
  chmodSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunnerError } from './runner-error.js';
import { treeStamp, type TreeReads } from './tree-stamp.js';

// The stamp stands in for re-reading a build context: every change a COPY could see must move
// it, and nothing else may.

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-tree-stamp-'));
  mkdirSync(join(base, 'src', 'lib'), { recursive: true });
  mkdirSync(join(base, 'src', 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(base, 'src', 'a.txt'), 'a');
  writeFileSync(join(base, 'src', 'lib', 'b.txt'), 'b');
  writeFileSync(join(base, 'src', 'node_modules', 'dep', 'index.js'), 'x');
  writeFileSync(join(base, 'top.txt'), 'top');
  symlinkSync('a.txt', join(base, 'src', 'link'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const reads: TreeReads = { stat: ['', 'top.txt', 'missing'], walk: ['src'], prune: ['src/node_modules'] };

async function changes(change: () => void): Promise<boolean> {
  const before = await treeStamp(base, reads);
  expect((await treeStamp(base, reads)).digest).toBe(before.digest);
  // Past the kernel's timestamp granularity (a jiffy on kernels without fine-grained ctimes), so
  // the change gets a ctime of its own, as it would in a real edit after a build.
  await new Promise((resolve) => setTimeout(resolve, 20));
  change();
  return (await treeStamp(base, reads)).digest !== before.digest;
}

it('moves with every change below a walked directory: content, mode, owner, times, names, links', async () => {
  expect(await changes(() => writeFileSync(join(base, 'src', 'a.txt'), 'A'))).toBe(true);
  expect(await changes(() => chmodSync(join(base, 'src', 'lib', 'b.txt'), 0o600))).toBe(true);
  expect(await changes(() => utimesSync(join(base, 'src', 'lib', 'b.txt'), 1, 1))).toBe(true);
  expect(await changes(() => writeFileSync(join(base, 'src', 'lib', 'new.txt'), ''))).toBe(true);
  expect(await changes(() => unlinkSync(join(base, 'src', 'lib', 'new.txt')))).toBe(true);
  expect(await changes(() => renameSync(join(base, 'src', 'lib'), join(base, 'src', 'lib2')))).toBe(true);
  expect(
    await changes(() => {
      unlinkSync(join(base, 'src', 'link'));
      symlinkSync('lib2/b.txt', join(base, 'src', 'link'));
    }),
  ).toBe(true);
  // A path that was absent is part of what was read.
  expect(await changes(() => writeFileSync(join(base, 'missing'), ''))).toBe(true);
  expect(await changes(() => writeFileSync(join(base, 'top.txt'), 'TOP'))).toBe(true);
});

it('does not look inside pruned directories nor at paths nobody read, but sees a pruned directory replaced', async () => {
  expect(await changes(() => writeFileSync(join(base, 'src', 'node_modules', 'dep', 'index.js'), 'y'))).toBe(
    false,
  );
  expect(await changes(() => writeFileSync(join(base, 'unread.txt'), ''))).toBe(true); // the root's mtime
  const onlyFiles: TreeReads = { stat: ['top.txt'], walk: [], prune: [] };
  const before = await treeStamp(base, onlyFiles);
  writeFileSync(join(base, 'other.txt'), '');
  expect((await treeStamp(base, onlyFiles)).digest).toBe(before.digest);
  expect(
    await changes(() => {
      rmSync(join(base, 'src', 'node_modules'), { recursive: true });
      writeFileSync(join(base, 'src', 'node_modules'), 'now a file');
    }),
  ).toBe(true);
});

it('reports the latest mtime or ctime it saw', async () => {
  const past = 1_600_000_000;
  const st = await treeStamp(base, { stat: ['top.txt'], walk: [], prune: [] });
  expect(st.latestMs).toBeCloseTo(lstatSync(join(base, 'top.txt')).ctimeMs, 3);
  // The temp directory's file system keeps nanoseconds (ext4, tmpfs): not coarse.
  expect(st.coarse).toBe(false);
  utimesSync(join(base, 'top.txt'), past, past);
  // ctime moved to now; mtime went back: the latest is the ctime.
  const later = await treeStamp(base, { stat: ['top.txt'], walk: [], prune: [] });
  expect(later.latestMs).toBeCloseTo(lstatSync(join(base, 'top.txt')).ctimeMs, 3);
  expect(later.latestMs).toBeGreaterThan(past * 1000);
});

it('refuses paths that leave the directory', async () => {
  for (const bad of [['../x'], ['/etc'], ['a/../../x']]) {
    await expect(treeStamp(base, { stat: bad, walk: [], prune: [] })).rejects.toBeInstanceOf(RunnerError);
    await expect(treeStamp(base, { stat: [], walk: bad, prune: [] })).rejects.toThrow(/leaves the directory/);
  }
});

it('stamps a tree big enough to be statted on several threads the same way every time', async () => {
  for (let d = 0; d < 30; d++) {
    mkdirSync(join(base, 'big', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(base, 'big', `d${d}`, `f${f}`), `${d}/${f}`);
  }
  const big: TreeReads = { stat: [], walk: ['big'], prune: ['big/d3'] };
  const first = await treeStamp(base, big);
  expect((await treeStamp(base, big)).digest).toBe(first.digest);
  await new Promise((resolve) => setTimeout(resolve, 20));
  writeFileSync(join(base, 'big', 'd29', 'f99'), 'x'); // the very last entry
  const second = await treeStamp(base, big);
  expect(second.digest).not.toBe(first.digest);
  writeFileSync(join(base, 'big', 'd3', 'f0'), 'pruned: not seen');
  expect((await treeStamp(base, big)).digest).toBe(second.digest);
  writeFileSync(join(base, 'big', 'd0', 'f0'), 'y'); // the first
  expect((await treeStamp(base, big)).digest).not.toBe(second.digest);
});
