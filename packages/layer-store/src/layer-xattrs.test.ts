import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { FileHeader, FsChange } from '@kiln/oci';
import { LayerStore } from './index.js';

// Extended attributes are bytes, not text: security.capability is a binary structure whose
// bytes need not be UTF-8. GNU tar (an independent reader) must restore them exactly, and a
// layer re-imported from its own tar must come out byte-identical.

/** VFS_CAP_REVISION_2 | effective, permitted = cap_setuid (bit 7: byte 0x80) | cap_net_raw (bit 13). */
const CAPABILITY = Buffer.from([1, 0, 0, 2, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const T = new Date('2024-05-01T12:00:00Z');
const LONG = `${'d'.repeat(110)}/${'ü'.repeat(60)}`;

let work: string;
let store: LayerStore;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-xattrs-'));
  store = await LayerStore.open(join(work, 'store'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function upsert(
  path: string,
  type: FileHeader['type'],
  content = '',
  xattrs?: FileHeader['xattrs'],
): FsChange {
  const header: FileHeader = {
    path,
    type,
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: type === 'file' ? Buffer.byteLength(content) : 0,
    mtime: T,
    ...(xattrs ? { xattrs } : {}),
  };
  return type === 'file'
    ? { kind: 'upsert', header, open: () => Readable.from([Buffer.from(content)]) }
    : { kind: 'upsert', header };
}

async function* changes(list: readonly FsChange[]): AsyncGenerator<FsChange> {
  yield* list;
}

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const big = 'b'.repeat(300_000);
const sample = (): FsChange[] => [
  upsert('bin', 'directory', '', { 'user.dir': Buffer.from('on a directory') }),
  upsert('bin/capped', 'file', big, { 'security.capability': CAPABILITY, 'user.z': Buffer.from('last') }),
  upsert('bin/plain', 'file', 'no attributes'),
  upsert(LONG, 'file', 'long', { 'user.long': Buffer.from([0xff, 0x00, 0xfe]) }),
];

async function gunzipTo(digest: Parameters<LayerStore['openBlob']>[0], file: string): Promise<void> {
  await pipeline(await store.openBlob(digest), createGunzip(), createWriteStream(file));
}

const asRoot = process.getuid?.() === 0 ? test : test.skip;

asRoot('GNU tar restores binary xattrs and contents from a layer', async () => {
  const layer = await store.writeLayer(changes(sample()));
  const tarFile = join(work, 'layer.tar');
  await gunzipTo(layer.descriptor.digest, tarFile);
  const out = join(work, 'out');
  await mkdir(out);
  sh('tar', ['--xattrs', '--xattrs-include=*', '-xpf', tarFile, '-C', out]);
  expect(sh('getcap', [join(out, 'bin/capped')])).toMatch(/cap_setuid,cap_net_raw[=+]ep/);
  expect(sh('getfattr', ['-e', 'hex', '-n', 'security.capability', join(out, 'bin/capped')])).toContain(
    `0x${CAPABILITY.toString('hex')}`,
  );
  expect(sh('getfattr', ['--only-values', '-n', 'user.z', join(out, 'bin/capped')])).toBe('last');
  expect(sh('getfattr', ['--only-values', '-n', 'user.dir', join(out, 'bin')])).toBe('on a directory');
  expect(sh('getfattr', ['-e', 'hex', '-n', 'user.long', join(out, LONG)])).toContain('0xff00fe');
  expect(await readFile(join(out, 'bin/capped'), 'utf8')).toBe(big);
  expect(await readFile(join(out, 'bin/plain'), 'utf8')).toBe('no attributes');
  expect(sh('getfattr', ['-d', '-m', '-', join(out, 'bin/plain')])).toBe('');
});

test('a layer re-imported from its own tar keeps every xattr byte (same diffID)', async () => {
  const layer = await store.writeLayer(changes(sample()));
  const tarFile = join(work, 'layer.tar');
  await gunzipTo(layer.descriptor.digest, tarFile);
  const again = await store.importRootfs(tarFile);
  expect(again.diffId).toBe(layer.diffId);
  // And a change to one xattr byte changes the layer.
  const changed = sample().map((c) =>
    c.kind === 'upsert' && c.header.path === 'bin/capped'
      ? upsert('bin/capped', 'file', big, { 'security.capability': Buffer.from(CAPABILITY).fill(0x81, 4, 5) })
      : c,
  );
  expect((await store.writeLayer(changes(changed))).diffId).not.toBe(layer.diffId);
});
