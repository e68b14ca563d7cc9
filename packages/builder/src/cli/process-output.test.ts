import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  createWriteStream,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processOutput } from './process-output.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-process-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('writes go straight to the descriptor until the stream is taken, then through it, in order', async () => {
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  let made = 0;
  const out = processOutput(fd, () => {
    made++;
    return createWriteStream('', { fd, autoClose: false });
  });
  out.write('one ');
  out.write('two ');
  expect(made).toBe(0);
  expect(readFileSync(file, 'utf8')).toBe('one two ');
  const stream = out.stream();
  expect(out.stream()).toBe(stream);
  out.write('three');
  await new Promise<void>((r) => stream.end(r));
  expect(made).toBe(1);
  expect(readFileSync(file, 'utf8')).toBe('one two three');
  closeSync(fd);
});

test('a full non-blocking pipe (EAGAIN) hands the rest to the stream; nothing is lost or reordered', async () => {
  const fifo = join(dir, 'fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  // Read-write so that opening does not wait for a reader; non-blocking so a full pipe says EAGAIN.
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let socket: Socket | undefined;
  const out = processOutput(fd, () => (socket = new Socket({ fd, readable: false, writable: true })));
  // Far more than a pipe holds (64 KiB): the writes fill it, the stream keeps the rest.
  const text = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'x'.repeat(40)}\n`).join('');
  out.write(text.slice(0, 150_000));
  out.write(text.slice(150_000));
  expect(socket).toBeDefined();
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (let got = 0; got < Buffer.byteLength(text);) {
    let n = 0;
    try {
      n = readSync(reader, buf);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
    if (n > 0) {
      chunks.push(Buffer.from(buf.subarray(0, n)));
      got += n;
    } else await new Promise((r) => setTimeout(r, 5));
  }
  expect(Buffer.concat(chunks).toString('utf8')).toBe(text);
  socket?.destroy();
  closeSync(reader);
});

/** A pipe's write end whose reader has gone: every write to it fails with EPIPE. */
function pipeWithoutReader(name: string): number {
  const fifo = join(dir, name);
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  closeSync(reader);
  return fd;
}

test('a reader gone (EPIPE) is told once, and later writes are dropped instead of thrown', () => {
  const fd = pipeWithoutReader('gone');
  let closed = 0;
  const out = processOutput(
    fd,
    () => new Socket({ fd, readable: false, writable: true }),
    () => closed++,
  );
  expect(() => out.write('one\n')).not.toThrow();
  out.write('two\n');
  expect(closed).toBe(1);
  closeSync(fd);
});

test('EPIPE on the stream, once taken, is told the same way', async () => {
  const fd = pipeWithoutReader('gone-stream');
  let socket: Socket | undefined;
  const told = new Promise<void>((resolve) => {
    const out = processOutput(
      fd,
      () => (socket = new Socket({ fd, readable: false, writable: true })),
      resolve,
    );
    out.stream();
    out.write('through the stream\n');
  });
  await told;
  socket?.destroy();
});
