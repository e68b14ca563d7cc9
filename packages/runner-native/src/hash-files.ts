import { hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { packageFile } from './package-file.js';

/** What hashFiles hands its worker (see hash-worker.ts). */
export interface HashJob {
  readonly paths: readonly string[];
  /** One Int32 shared by both threads: the index of the next batch to take. */
  readonly next: SharedArrayBuffer;
}
/** The worker's answer: the digest of each path it took, by index (undefined: unreadable). */
export interface HashDone {
  readonly digests: readonly (readonly [number, string | undefined])[];
}

/** Paths a thread takes at a time from the shared index. */
const BATCH = 32;

/**
 * The sha256 (hex) of each file in `paths` (absolute; small files, each read in one call), in
 * order, on this thread and a worker thread at once, each taking the next batch of paths from a
 * shared index until none is left: hashing thousands of small files is mostly `open`/`read`/
 * `close`, which two threads make at the same time. A file that cannot be read gives undefined
 * (the caller reads it again to report why). This thread is busy until its share is done. Without
 * the worker's script (the package's `dist/` not built), this thread hashes them all.
 */
export async function hashFiles(paths: readonly string[]): Promise<(string | undefined)[]> {
  const out = new Array<string | undefined>(paths.length);
  const next = new SharedArrayBuffer(4);
  const index = new Int32Array(next);
  const script = packageFile('dist/hash-worker.js');
  let done: Promise<HashDone | undefined> = Promise.resolve(undefined);
  if (script.found) {
    const job: HashJob = { paths, next };
    const worker = new Worker(script.path, {
      workerData: job,
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    done = new Promise<HashDone | undefined>((resolve) => {
      worker.once('message', (m: HashDone) => resolve(m));
      // A worker that fails leaves its batches to this thread (see below), never a wrong digest.
      worker.once('error', () => resolve(undefined));
      worker.once('exit', () => resolve(undefined));
    });
  }
  const taken = hashShare(paths, index);
  for (const [i, digest] of taken) out[i] = digest;
  const fromWorker = await done;
  for (const [i, digest] of fromWorker?.digests ?? []) out[i] = digest;
  // Batches the worker took but never answered for (it failed): hashed here.
  if (!fromWorker)
    for (let i = 0; i < paths.length; i++) if (out[i] === undefined) out[i] = hashOne(paths[i] as string);
  return out;
}

/** Takes batches from the shared `index` until none is left; the digests of what it took. */
export function hashShare(paths: readonly string[], index: Int32Array): [number, string | undefined][] {
  const out: [number, string | undefined][] = [];
  for (;;) {
    const start = Atomics.add(index, 0, BATCH);
    if (start >= paths.length) return out;
    for (let i = start; i < Math.min(start + BATCH, paths.length); i++)
      out.push([i, hashOne(paths[i] as string)]);
  }
}

/**
 * Files up to this size are read into one buffer kept per thread: a new Buffer per file (as
 * readFileSync makes) leaves 100 MB of garbage behind 20,000 small files, which V8 collects late
 * and which showed in the build's peak memory.
 */
const SCRATCH_BYTES = 1024 * 1024;
let scratch: Buffer | undefined;

function hashOne(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size > SCRATCH_BYTES) return hash('sha256', readFileSync(fd));
    scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
    // As readFileSync: the size fstat gives, or less when the file ends sooner.
    let done = 0;
    while (done < size) {
      const n = readSync(fd, scratch, done, size - done, null);
      if (n === 0) break;
      done += n;
    }
    return hash('sha256', scratch.subarray(0, done));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
