import { availableParallelism } from 'node:os';

/** Input is cut into blocks of this size; each becomes one zstd frame. */
const ZSTD_BLOCK_BYTES = 1024 * 1024;

/**
 * zstd on every core, deterministically, as parallelGzip does for gzip: fixed 1 MiB blocks, each
 * compressed on libuv's thread pool as one zstd frame, emitted in order. RFC 8878 reads a file of
 * concatenated frames as the concatenation of their contents (the zstd CLI, Go's and containerd's
 * readers do). The output depends only on the input and `level`. zstd stores incompressible
 * blocks raw by itself, so no probe is needed. At most `parallel` blocks are in flight.
 */
export async function* parallelZstd(
  input: AsyncIterable<Buffer>,
  level: number,
  parallel = Math.max(2, availableParallelism()),
): AsyncGenerator<Buffer> {
  // Loaded on first use: most kiln processes never write zstd, and the native module costs memory.
  const { compress } = await import('@mongodb-js/zstd');
  const inFlight: Promise<Buffer>[] = [];
  let pending: Buffer[] = [];
  let held = 0;
  const launch = (block: Buffer): void => {
    const p = compress(block, level);
    p.catch(() => undefined);
    inFlight.push(p);
  };
  for await (const chunk of input) {
    pending.push(chunk);
    held += chunk.length;
    while (held >= ZSTD_BLOCK_BYTES) {
      const all = Buffer.concat(pending, held);
      launch(all.subarray(0, ZSTD_BLOCK_BYTES));
      const rest = all.subarray(ZSTD_BLOCK_BYTES);
      pending = rest.length > 0 ? [rest] : [];
      held = rest.length;
      while (inFlight.length >= parallel) yield await (inFlight.shift() as Promise<Buffer>);
    }
  }
  if (held > 0 || inFlight.length === 0) launch(Buffer.concat(pending, held));
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
}
