import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { sha256Digest } from '@kiln/oci';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { startContainer, type ContainerSpec, type ContainerStdio } from './start-container.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { StringSink } from './test/string-sink.js';
import { mountTable } from './test/step-fixture.js';

const BUSYBOX = sha256Digest('busybox-layer');
let base: string;
let snapshotter: Snapshotter;
let snapshot: Snapshot;
let mountsBefore: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-container-'));
  snapshotter = new Snapshotter(join(base, 'store'));
  await snapshotter.unpack(BUSYBOX, layerTar(busyboxEntries()));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  snapshot = await snapshotter.prepare([BUSYBOX]);
  mountsBefore = await mountTable(base);
});
afterEach(async () => {
  expect(await mountTable(base)).toBe(mountsBefore);
  await snapshot.release();
});

async function start(args: string[], extra: Partial<ContainerSpec> = {}, stdin?: ContainerStdio['stdin']) {
  const stdout = new StringSink();
  const stderr = new StringSink();
  const spec: ContainerSpec = { snapshot, args, env: ['PATH=/bin'], cwd: '/', network: 'host', ...extra };
  const container = startContainer(spec, { stdout, stderr, ...(stdin !== undefined ? { stdin } : {}) });
  const result = await container.exited;
  return { ...result, stdout: stdout.text, stderr: stderr.text };
}

describe('tty', () => {
  it('gives the command a pseudo-terminal of the container as its controlling terminal', async () => {
    const r = await start(
      ['/bin/sh', '-c', 'tty; test -t 0 && test -t 2 && echo all-tty; : < /dev/tty && echo ctty'],
      {
        tty: true,
      },
    );
    expect(r.exitCode).toBe(0);
    // The terminal's line discipline turns \n into \r\n, as under docker run -t.
    expect(r.stdout).toBe('/dev/pts/0\r\nall-tty\r\nctty\r\n');
    expect(r.stderr).toBe('');
  });

  it('relays stdin to the terminal and returns the exit code', async () => {
    const input = Readable.from(['echo $((6*7))\n', 'exit 3\n']);
    const r = await start(['/bin/sh'], { tty: true }, input);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toContain('42\r\n');
  });

  it('keeps the terminal open when stdin is /dev/null (-t without -i)', async () => {
    const r = await start(['/bin/sh', '-c', 'sleep 0.2; echo still-here'], { tty: true });
    expect([r.exitCode, r.stdout]).toEqual([0, 'still-here\r\n']);
  });

  it('forwards SIGTERM to the command and reports it', async () => {
    const stdout = new StringSink();
    const spec: ContainerSpec = {
      snapshot,
      args: ['/bin/sh', '-c', 'echo up; exec sleep 30'],
      env: [],
      cwd: '/',
      network: 'host',
      tty: true,
    };
    const c = startContainer(spec, { stdout, stderr: new StringSink() });
    while (!stdout.text.includes('up')) await new Promise((r) => setTimeout(r, 20));
    c.kill('SIGTERM');
    expect(await c.exited).toEqual({ exitCode: 143, signal: 'SIGTERM' });
  });
});

describe('stdin without tty', () => {
  it('pipes a stream into the command until its end', async () => {
    const input = new PassThrough();
    input.end('hi\nthere\n');
    const r = await start(['/bin/cat'], {}, input);
    expect([r.exitCode, r.stdout]).toEqual([0, 'hi\nthere\n']);
  });
});

describe('volume mounts', () => {
  it('binds a host directory read-write (the host sees the write) or read-only', async () => {
    const dir = await mkdtemp(join(base, 'vol-'));
    const r = await start(['/bin/sh', '-c', 'echo data > /v/out && ! touch /ro/x 2>/dev/null'], {
      mounts: [
        { type: 'volume', source: dir, target: '/v' },
        { type: 'volume', source: dir, target: '/ro', readonly: true },
      ],
    });
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(dir, 'out'), 'utf8')).toBe('data\n');
  });
});

describe('persistent snapshots', () => {
  it('reopens the same upper dir, so later runs see earlier changes', async () => {
    const dir = join(base, 'container-1');
    const first = await snapshotter.openPersistent([BUSYBOX], dir);
    const stdout = new StringSink();
    const spec = (s: Snapshot, script: string): ContainerSpec => ({
      snapshot: s,
      args: ['/bin/sh', '-c', script],
      env: [],
      cwd: '/',
      network: 'host',
    });
    await startContainer(spec(first, 'echo kept > /state'), { stdout, stderr: stdout }).exited;
    const again = await snapshotter.openPersistent([BUSYBOX], dir);
    await startContainer(spec(again, 'cat /state'), { stdout, stderr: stdout }).exited;
    expect(stdout.text).toBe('kept\n');
    const paths: string[] = [];
    for await (const c of again.changes()) paths.push(c.kind === 'upsert' ? c.header.path : c.path);
    expect(paths).toEqual(['state']);
    await again.release();
  });
});
