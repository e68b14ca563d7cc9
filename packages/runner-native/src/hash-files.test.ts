import { hash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFiles, hashShare } from './hash-files.js';

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-hash-files-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

it('gives the sha256 of every file in order, on two threads, and undefined for what cannot be read', async () => {
  const paths: string[] = [];
  const want: (string | undefined)[] = [];
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(base, `d${d}`));
    for (let f = 0; f < 300; f++) {
      const path = join(base, `d${d}`, `f${f}`);
      const content = `${d}/${f}\n`.repeat(f % 7);
      writeFileSync(path, content);
      paths.push(path);
      want.push(hash('sha256', content));
    }
  }
  paths.splice(1234, 0, join(base, 'missing'), join(base, 'd3'));
  want.splice(1234, 0, undefined, undefined);
  expect(await hashFiles(paths)).toEqual(want);
  expect(await hashFiles([])).toEqual([]);
});

it('shares batches through one index: every path once, none left over', () => {
  const paths = Array.from({ length: 100 }, (_, i) => join(base, `f${i}`));
  paths.forEach((p, i) => writeFileSync(p, String(i)));
  const index = new Int32Array(new SharedArrayBuffer(4));
  const first = hashShare(paths.slice(), index);
  expect(first.map(([i]) => i)).toEqual(paths.map((_, i) => i));
  expect(hashShare(paths, index)).toEqual([]);
});
