import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** One of the process's output descriptors, written without a stream until one is asked for. */
export interface ProcessOutput<S extends Writable> {
  /** Writes `text`, in order with everything written before (through either way). */
  write(text: string): void;
  /** The stream (process.stdout or .stderr); from the first call on, `write` goes through it too. */
  stream(): S;
}

/**
 * An output descriptor of the process (stdout, stderr), written with `writeSync` while no code
 * has asked for the stream. Why: Node makes process.stdout a socket when it is a pipe, as it is
 * under every CI runner and benchmark harness, which loads the network stack and sets up a
 * stream: ~1.5 ms of a command that prints one digest. A descriptor that cannot take a write
 * at once (a non-blocking pipe that is full: EAGAIN) hands the rest to the stream, which waits.
 *
 * When the reader has gone (EPIPE: `kiln images | head -1`), written either way, later writes
 * are dropped and `onClosed` is called once: what a Unix tool does when SIGPIPE ends it, except
 * that the caller decides how to stop (Node ignores SIGPIPE; without this, the write throws).
 */
export function processOutput<S extends Writable>(
  fd: number,
  stream: () => S,
  onClosed: () => void = () => {},
): ProcessOutput<S> {
  let taken: S | undefined;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    onClosed();
  };
  const take = (): S => {
    if (taken) return taken;
    taken = stream();
    taken.on('error', (err: NodeJS.ErrnoException) => {
      // Any other error is the stream's as before: uncaught, since nothing else listens.
      if (err.code !== 'EPIPE') throw err;
      close();
    });
    return taken;
  };
  return {
    write(text) {
      if (closed) return;
      if (taken) {
        taken.write(text);
        return;
      }
      const bytes = Buffer.from(text);
      let done = 0;
      try {
        while (done < bytes.length) done += writeSync(fd, bytes, done);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') close();
        else if (code === 'EAGAIN') take().write(bytes.subarray(done));
        else throw err;
      }
    },
    stream: take,
  };
}
