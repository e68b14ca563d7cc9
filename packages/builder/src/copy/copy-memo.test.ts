import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContextReads } from './context-reads.js';
import { memoBase, recallCopy, rememberCopy } from './copy-memo.js';

// The memo's rules with the real helper: what is remembered, and when a memo is refused.
let dir: string;
let reads: ContextReads;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-copy-memo-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'a.txt'), 'a');
  reads = new ContextReads();
  reads.statted('src');
  reads.walked('src');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = memoBase(['state', 'COPY src /src']);
const result = (startedMs: number, entries = 1000) => ({
  base,
  contextDir: dir,
  startedMs,
  contents: 'c0ffee',
  archives: [],
  entries,
});

it('refuses reads that began right after something read changed', async () => {
  expect(await rememberCopy(reads, result(Date.now()))).toBeUndefined();
});

it('remembers older reads, and recalls them only for the same base and an unchanged stamp', async () => {
  // As if the reads had begun a second after the file was written.
  const memo = await rememberCopy(reads, result(Date.now() + 1000));
  expect(memo).toMatchObject({
    base,
    contents: 'c0ffee',
    reads: { stat: ['src'], walk: ['src'], prune: [] },
  });
  const previous = { memo, files: { 'src/a.txt': '0123' } };
  expect(await recallCopy(previous, base, dir)).toEqual({
    contents: 'c0ffee',
    archives: [],
    files: { 'src/a.txt': '0123' },
    memo,
  });
  expect(await recallCopy(previous, memoBase(['other']), dir)).toBeUndefined();
  expect(await recallCopy({ memo: { ...memo, stamp: 1 }, files: {} }, base, dir)).toBeUndefined();
  expect(await recallCopy({ memo }, base, dir)).toBeUndefined(); // no file digests to explain with
  writeFileSync(join(dir, 'src', 'b.txt'), 'b');
  expect(await recallCopy(previous, base, dir)).toBeUndefined();
});

it('does not remember a small COPY (re-reading it costs less than a stamp)', async () => {
  expect(await rememberCopy(reads, result(Date.now() + 1000, 499))).toBeUndefined();
  expect(await rememberCopy(reads, result(Date.now() + 1000, 500))).toBeDefined();
});

it('does not remember reads that went through a symlink', async () => {
  reads.uncovered();
  expect(await rememberCopy(reads, result(Date.now() + 1000))).toBeUndefined();
});
