import { createHash } from 'node:crypto';
import { appendFileSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { writeTarArchive } from '@kiln/layer-store';
import type { Digest, FsChange, LayerFile } from '@kiln/oci';
import { Snapshotter, type StagedLayer } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { contextCheck, mayChangeUnseen, type PlannedFiles } from './context-check.js';
import { unchangedLinker } from './link-unchanged.js';
import type { CopyEntry } from './plan-copy.js';

// The linker's and the context check's rules with a real snapshotter and helper: what is linked,
// when they refuse, and that the check notices a context file changed while the layer was written.

const MTIME = new Date('2024-01-01T00:00:00Z');
const AT: ErrorLocation = { file: 'Dockerfile', line: 2, column: 1 };
const N = 120;

let dir: string;
let snapshotter: Snapshotter;
let staged: StagedLayer | undefined;
let previous: Digest;

const content = (i: number): string => `file ${i}\n`;
const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const rel = (i: number): string => `app/d${i % 3}/f${i}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-link-unchanged-'));
  snapshotter = new Snapshotter(join(dir, 'snapshots'));
  // The last build's layer: N files, unpacked and committed (with its digest record).
  async function* files(): AsyncGenerator<FsChange> {
    for (let i = 0; i < N; i++) {
      const data = Buffer.from(content(i));
      yield {
        kind: 'upsert',
        header: { path: rel(i), type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: MTIME },
        open: () => Readable.from([data]),
      };
    }
  }
  const sink = new PassThrough();
  const bytes: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => bytes.push(chunk));
  await writeTarArchive(files(), sink);
  const tarBytes = Buffer.concat(bytes);
  previous = `sha256:${sha(tarBytes)}` as Digest;
  const first = await snapshotter.stage();
  await first.extract(Readable.from([tarBytes]));
  await first.commit(previous);
  // The context: the same files, but file 5 changed.
  for (let i = 0; i < N; i++) {
    mkdirSync(join(dir, 'ctx', `d${i % 3}`), { recursive: true });
    writeFileSync(join(dir, 'ctx', `d${i % 3}`, `f${i}`), i === 5 ? 'changed\n' : content(i));
  }
  // Planning starts more than 2 s after the files' last change: settled for mayChangeUnseen
  // whatever their ctimes look like (a nanosecond ctime may round to a whole hundredth, rarely).
  await new Promise((resolve) => setTimeout(resolve, 2100));
});
afterEach(async () => {
  await staged?.discard();
  staged = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What planning the COPY would give: entries with stamps taken now, and their digests. */
function plan(count = N): PlannedFiles {
  const entries: CopyEntry[] = [];
  const bytes = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const source = join(dir, 'ctx', `d${i % 3}`, `f${i}`);
    const st = lstatSync(source);
    const data = i === 5 ? 'changed\n' : content(i);
    entries.push({
      header: { path: rel(i), type: 'file', mode: 0o644, uid: 0, gid: 0, size: st.size, mtime: MTIME },
      source,
      stamp: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs },
    });
    bytes.set(rel(i), sha(data));
  }
  return { entries, bytes, startedMs: Date.now() };
}

/** The layer's files as writeLayer offers them. */
function layerFiles(p: PlannedFiles): LayerFile[] {
  return p.entries.map((e) => ({
    path: e.header.path,
    mode: e.header.mode,
    uid: 0,
    gid: 0,
    size: e.header.size,
    mtime: MTIME.getTime() / 1000,
  }));
}

it('links every file equal to the last build’s, in the staged layer', async () => {
  staged = await snapshotter.stage({ reuse: previous });
  const p = plan();
  const context = contextCheck(p);
  if (!context) throw new Error('expected a context check');
  const linker = unchangedLinker(staged, p, context);
  if (!linker) throw new Error('expected a linker');
  const linked = await linker.teeHas(layerFiles(p));
  expect(linked.size).toBe(N - 1);
  expect(linked.has(rel(5))).toBe(false);
  expect(await linker.linked).toBe(linked);
  await expect(context.check(AT)).resolves.toBeUndefined();
  // Every context file, linked or not, with the digest planning gave it.
  expect(context.unpacked().size).toBe(N);
  expect(context.unpacked().get(rel(5))).toBe(sha('changed\n'));
});

it('fails the COPY when a context file changes after planning', async () => {
  const context = contextCheck(plan());
  if (!context) throw new Error('expected a context check');
  appendFileSync(join(dir, 'ctx', 'd2', 'f2'), 'more\n');
  const error = await context.check(AT).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BuilderError);
  expect((error as BuilderError).code).toBe('CONTEXT_CHANGED');
  expect((error as BuilderError).message).toContain(join('ctx', 'd2', 'f2'));
});

it('refuses when a file changed just before planning, or when too few files could be linked', async () => {
  // Past the race window of the file the test above changed.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(contextCheck({ ...plan(), startedMs: Date.now() - 10_000 })).toBeUndefined();
  // Too few files for the check's helper to pay.
  expect(contextCheck(plan(50))).toBeUndefined();
  staged = await snapshotter.stage({ reuse: previous });
  const p = plan();
  const context = contextCheck(p);
  if (!context) throw new Error('expected a context check');
  // Fewer than half the files equal to the last build's: not linked.
  const mostlyNew = { ...p, bytes: new Map([...p.bytes].map(([k, v], i) => [k, i < 70 ? 'x' : v])) };
  expect(unchangedLinker(staged, mostlyNew, context)).toBeUndefined();
  // Without a reused layer nothing is equal.
  await staged.discard();
  staged = await snapshotter.stage();
  expect(unchangedLinker(staged, p, context)).toBeUndefined();
});

it('takes a nanosecond ctime 20 ms old as settled, one in whole hundredths only after 2 s', () => {
  const now = 1_800_000_000_000;
  expect(mayChangeUnseen(now - 25 + 0.123456, now)).toBe(false);
  expect(mayChangeUnseen(now - 15 + 0.123456, now)).toBe(true);
  expect(mayChangeUnseen(now + 5.5, now)).toBe(true);
  // A whole millisecond: a millisecond file system, or a nanosecond ctime rounded in the double.
  expect(mayChangeUnseen(now - 25, now)).toBe(false);
  expect(mayChangeUnseen(now - 15, now)).toBe(true);
  // Whole hundredths (or seconds): perhaps a coarser file system.
  expect(mayChangeUnseen(now - 30, now)).toBe(true);
  expect(mayChangeUnseen(now - 1990, now)).toBe(true);
  expect(mayChangeUnseen(now - 2010, now)).toBe(false);
  // The rounding itself: 100 ns past a millisecond is not representable next to 1.8e12 ms.
  expect((now - 25 + 0.0001) % 1).toBe(0);
});
