import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { kiln, run, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// A COPY from the build context keeps a stamp of what it read (copy-memo.ts); a rebuild whose
// stamp is unchanged reuses the COPY's digests without reading the files. Every change a COPY
// could see must still be seen, each in a stage of its own so that one miss does not hide another.
const tmp = tempDir('kiln-copy-memo-');
const root = join(tmp.path, 'store');
// Each COPY also copies `pad` (500 files): smaller COPYs are not remembered.
const stages = {
  s1: 'COPY content pad /x/',
  s2: 'COPY added pad /x/',
  s3: 'COPY mode pad /x/',
  s4: 'COPY ignored pad /x/',
  s5: 'COPY single.txt pad /x/',
  s6: 'COPY glob-* pad /x/',
  s7: 'COPY via/inner pad /x/',
} as const;
const dockerfile = [
  ...Object.entries(stages).map(([name, copy]) => `FROM busybox AS ${name}\n${copy}\n`),
  'FROM busybox',
  ...Object.keys(stages).map((name) => `COPY --from=${name} /x /${name}`),
  '',
].join('\n');
let ctx = '';
let builds = 0;

beforeAll(async () => {
  storeWithBusybox(root);
  ctx = writeContext(tmp.path, 'ctx', dockerfile, {
    '.dockerignore': 'ignored/skip\n',
    'content/f.txt': 'aaaa\n',
    'added/sub/f.txt': 'f\n',
    'mode/f.txt': 'm\n',
    'ignored/kept.txt': 'k\n',
    'ignored/skip/y.txt': 'y\n',
    'single.txt': 'one\n',
    'glob-1.txt': 'g1\n',
    'via/inner/f.txt': 'via\n',
    'other/inner/f.txt': 'other\n',
    ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`pad/p${i}`, `${i}\n`])),
  });
  chmodSync(join(ctx, 'mode', 'f.txt'), 0o644);
  // A stamp is remembered only when what it covers is older than its timestamps can tell apart
  // (100 ms, 2 s on a file system with whole-second times): a later change could share them.
  await new Promise((resolve) => setTimeout(resolve, 2100));
}, 120_000);
afterAll(() => tmp.cleanup());

/** Builds with rawjson progress; the steps that found their context unchanged and the rootfs. */
function build(): { unchanged: string[]; rootfs: string } {
  const i = ++builds;
  const layout = join(tmp.path, `layout-${i}`);
  const r = kiln(root, [
    'build',
    '--progress',
    'rawjson',
    '-t',
    'memo:t',
    '--output',
    `type=oci,dest=${layout},tar=false`,
    ctx,
  ]);
  if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}`);
  const names = new Map<number, string>();
  const unchanged: string[] = [];
  for (const line of r.stderr.split('\n').filter((l) => l.startsWith('{'))) {
    const e = JSON.parse(line) as { type: string; id: number; name?: string; contextUnchanged?: boolean };
    if (e.type === 'step-start' && e.name) names.set(e.id, e.name);
    if (e.type === 'step-cached' && e.contextUnchanged) unchanged.push(names.get(e.id) ?? `#${e.id}`);
  }
  const bundle = join(tmp.path, `bundle-${i}`);
  run('umoci', ['unpack', '--image', `${layout}:t`, bundle]);
  return { unchanged, rootfs: join(bundle, 'rootfs') };
}

const unchangedCopies = (names: readonly string[]): string[] =>
  Object.values(stages).filter((copy) => names.some((n) => n.includes(copy)));

it('recognises an unchanged context by its stamp, and sees every change a COPY could see', () => {
  build();
  const cached = build();
  expect(unchangedCopies(cached.unchanged)).toEqual(Object.values(stages));

  writeFileSync(join(ctx, 'content', 'f.txt'), 'bbbb\n'); // same size
  writeFileSync(join(ctx, 'added', 'sub', 'new.txt'), 'new\n');
  chmodSync(join(ctx, 'mode', 'f.txt'), 0o600);
  writeFileSync(join(ctx, 'ignored', 'skip', 'y.txt'), 'changed, but excluded\n');
  writeFileSync(join(ctx, 'single.txt'), 'two\n');
  writeFileSync(join(ctx, 'glob-2.txt'), 'g2\n');
  renameSync(join(ctx, 'via'), join(ctx, 'via-old'));
  symlinkSync('other', join(ctx, 'via'));

  const after = build();
  // Only the COPY whose changes were all excluded stays recognised.
  expect(unchangedCopies(after.unchanged)).toEqual([stages.s4]);
  const file = (p: string): string => readFileSync(join(after.rootfs, p), 'utf8');
  expect(file('s1/f.txt')).toBe('bbbb\n');
  expect(file('s2/sub/new.txt')).toBe('new\n');
  expect(lstatSync(join(after.rootfs, 's3/f.txt')).mode & 0o777).toBe(0o600);
  expect(file('s4/kept.txt')).toBe('k\n');
  expect(() => lstatSync(join(after.rootfs, 's4/skip'))).toThrow();
  expect(file('s5/single.txt')).toBe('two\n');
  expect(file('s6/glob-2.txt')).toBe('g2\n');
  expect(file('s7/f.txt')).toBe('other\n');

  // Through a symlink the reads are not stamped: never recognised, always read.
  mkdirSync(join(ctx, 'other', 'inner', 'more'));
  writeFileSync(join(ctx, 'other', 'inner', 'more', 'g.txt'), 'g\n');
  const again = build();
  expect(unchangedCopies(again.unchanged)).not.toContain(stages.s7);
  expect(readFileSync(join(again.rootfs, 's7/more/g.txt'), 'utf8')).toBe('g\n');
});
