import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest, type FsChange } from '@kiln/oci';
import { readXattrs } from './read-xattrs.js';
import { Snapshotter } from './snapshotter.js';
import { upperChanges } from './upper-changes.js';

// Node has no xattr API: the helper reads a whole tree's attributes in one walk and sets them
// after extraction. GNU tar and the attr/libcap tools are the independent side of each check.

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-xattr-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const asRoot = process.getuid?.() === 0 ? it : it.skip;

/** A tree with a capable file, a user xattr on a directory, a plain file, a symlink and a fifo. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'ping'));
  sh('setcap', ['cap_net_raw,cap_setuid+ep', join(dir, 'bin', 'ping')]);
  sh('setfattr', ['-n', 'user.role', '-v', 'tools', join(dir, 'bin')]);
  writeFileSync(join(dir, 'bin', 'plain'), 'plain');
  symlinkSync('/etc/shadow', join(dir, 'bin', 'link'));
  sh('mkfifo', [join(dir, 'bin', 'fifo')]);
}

asRoot('readXattrs reads every attribute below a tree, binary values intact, in one call', async () => {
  const dir = join(base, 'tree');
  makeTree(dir);
  sh('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(dir, 'bin')]);
  const xattrs = await readXattrs(dir);
  expect([...xattrs.keys()].sort()).toEqual(['bin', 'bin/ping']);
  expect(xattrs.get('bin')).toEqual({ 'user.role': Buffer.from('tools') });
  const cap = xattrs.get('bin/ping')?.['security.capability'];
  const dump = sh('getfattr', ['-e', 'hex', '-n', 'security.capability', join(dir, 'bin', 'ping')]);
  expect(`security.capability=0x${cap?.toString('hex') ?? ''}`).toBe(
    /security\.capability=0x[0-9a-f]+/.exec(dump)?.[0],
  );
  expect(cap?.includes(0x80)).toBe(true);
});

asRoot("a RUN upper dir reports its xattrs, never overlayfs's own", async () => {
  const upper = join(base, 'upper');
  makeTree(upper);
  sh('setfattr', ['-n', 'trusted.overlay.origin', '-v', '0x00', join(upper, 'bin', 'plain')]);
  const changes: FsChange[] = [];
  for await (const c of upperChanges(upper)) changes.push(c);
  const headers = new Map(changes.flatMap((c) => (c.kind === 'upsert' ? [[c.header.path, c.header]] : [])));
  expect(Object.keys(headers.get('bin/ping')?.xattrs ?? {})).toEqual(['security.capability']);
  expect(headers.get('bin')?.xattrs).toEqual({ 'user.role': Buffer.from('tools') });
  expect(headers.get('bin/plain')?.xattrs).toBeUndefined();
});

asRoot('extraction restores xattrs from a GNU tar layer, after owners are set', async () => {
  const src = join(base, 'src');
  makeTree(src);
  // chown after setcap would clear the capability: extraction must chown first, then set it.
  sh('chown', ['-h', '1000:1000', join(src, 'bin', 'plain')]);
  const tarFile = join(base, 'layer.tar');
  sh('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-cf', tarFile, '-C', src, 'bin']);
  const snapshotter = new Snapshotter(join(base, 'store'));
  const diffId = sha256Digest('xattr-layer');
  await snapshotter.unpack(diffId, createReadStream(tarFile));
  const layer = snapshotter.layerDir(diffId);
  expect(sh('getcap', [join(layer, 'bin', 'ping')])).toMatch(/cap_setuid,cap_net_raw[=+]ep/);
  expect(sh('getfattr', ['--only-values', '-n', 'user.role', join(layer, 'bin')])).toBe('tools');
  expect(await readXattrs(layer)).toEqual(await readXattrs(src));
});

asRoot('set-xattrs refuses to reach outside its directory', async () => {
  const { runHelper } = await import('./run-helper.js');
  const inside = join(base, 'inside');
  mkdirSync(join(inside, 'sub'), { recursive: true });
  writeFileSync(join(base, 'victim'), 'v');
  symlinkSync(base, join(inside, 'escape'));
  const record = (rel: string): Buffer => Buffer.from(`${rel}\0user.evil\x001\0x`);
  await expect(runHelper(['set-xattrs', '--dir', inside], record('../victim'))).rejects.toThrow(/unsafe/);
  await expect(runHelper(['set-xattrs', '--dir', inside], record('escape/victim'))).rejects.toThrow(/escape/);
  await expect(runHelper(['set-xattrs', '--dir', inside], record('/etc/passwd'))).rejects.toThrow(/unsafe/);
  expect(sh('getfattr', ['-d', join(base, 'victim')])).toBe('');
});
