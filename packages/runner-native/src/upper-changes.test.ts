import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { sha256Digest, type FsChange } from '@kiln/oci';
import { runStep } from './run-step.js';
import { Snapshotter } from './snapshotter.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { StringSink } from './test/string-sink.js';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-changes-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

it('reports what a RUN step changed: upserts, deletes, opaque directories, hardlinks', async () => {
  const snapshotter = new Snapshotter(join(base, 'store'));
  const busybox = sha256Digest('busybox');
  const data = sha256Digest('data');
  await snapshotter.unpack(busybox, layerTar(busyboxEntries()));
  await snapshotter.unpack(
    data,
    layerTar([
      { name: 'data/old.txt', content: 'old' },
      { name: 'data/keep.txt', content: 'keep' },
      { name: 'dir/a', content: 'a' },
    ]),
  );
  const snapshot = await snapshotter.prepare([busybox, data]);
  try {
    const script = [
      'echo new > /new.txt',
      'ln /new.txt /new-link',
      'ln -s new.txt /new-sym',
      'rm /data/old.txt',
      'rm -rf /dir && mkdir /dir && echo b > /dir/b',
      'chown 1000:2000 /new.txt',
    ].join(' && ');
    const stderr = new StringSink();
    const result = await runStep(
      { snapshot, args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none' },
      { stdout: new StringSink(), stderr },
    );
    expect([result.exitCode, stderr.text]).toEqual([0, '']);

    const changes: FsChange[] = [];
    for await (const change of snapshot.changes()) changes.push(change);
    const summary = changes.map((c) =>
      c.kind === 'upsert' ? `upsert ${c.header.path} ${c.header.type}` : `${c.kind} ${c.path}`,
    );
    // Mount points (/proc, /dev, /sys, /etc/hosts, /etc/resolv.conf) never reach the upper dir.
    expect(summary).toEqual([
      'upsert data directory',
      'delete data/old.txt',
      'upsert dir directory',
      'opaque dir',
      'upsert dir/b file',
      'upsert new-link file',
      'upsert new-sym symlink',
      'upsert new.txt link',
    ]);
    const byPath = new Map(
      changes.flatMap((c) => (c.kind === 'upsert' ? [[c.header.path, c] as const] : [])),
    );
    const file = byPath.get('new-link');
    expect(file?.kind === 'upsert' && file.header).toMatchObject({
      uid: 1000,
      gid: 2000,
      size: 4,
      mode: 0o644,
    });
    expect(file?.kind === 'upsert' && file.open ? await text(file.open()) : undefined).toBe('new\n');
    expect(byPath.get('new.txt')).toMatchObject({ header: { linkname: 'new-link' } });
    expect(byPath.get('new-sym')).toMatchObject({ header: { linkname: 'new.txt' } });
  } finally {
    await snapshot.release();
  }
});

it('a step that changed nothing has no changes; release removes the snapshot, changed or not', async () => {
  const snapshotter = new Snapshotter(join(base, 'store-empty'));
  const busybox = sha256Digest('busybox');
  await snapshotter.unpack(busybox, layerTar(busyboxEntries()));
  const run = async (script: string): Promise<FsChange[]> => {
    const snapshot = await snapshotter.prepare([busybox]);
    const result = await runStep(
      { snapshot, args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none' },
      { stdout: new StringSink(), stderr: new StringSink() },
    );
    expect(result.exitCode).toBe(0);
    const changes: FsChange[] = [];
    for await (const change of snapshot.changes()) changes.push(change);
    await snapshot.release();
    await snapshot.release(); // idempotent
    return changes;
  };
  expect(await run('true')).toEqual([]);
  expect((await run('mkdir -p /a/b && echo x > /a/b/c')).map((c) => c.kind)).toEqual([
    'upsert',
    'upsert',
    'upsert',
  ]);
  expect(await readdir(join(base, 'store-empty', 'active'))).toEqual([]);
});
