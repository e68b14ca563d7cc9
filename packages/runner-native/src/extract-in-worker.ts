import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { extractLayer, type ExtractOptions } from './extract-layer.js';
import { packageFile } from './package-file.js';
import { RunnerError, type RunnerErrorCode } from './runner-error.js';

/** What the worker unpacks (see extract-worker.ts). */
export interface ExtractJob {
  readonly root: string;
  readonly reuse?: { readonly dir: string; readonly digests: readonly (readonly [string, string])[] };
  /** Whether to hash the files for `digests` (ExtractOptions.digests given). */
  readonly hash: boolean;
}
export type ToWorker = { readonly type: 'chunk'; readonly data: ArrayBuffer } | { readonly type: 'end' };
export type FromWorker =
  | { readonly type: 'ack' }
  | { readonly type: 'done'; readonly digests: readonly (readonly [string, string])[] }
  | { readonly type: 'error'; readonly code: RunnerErrorCode; readonly message: string };

/**
 * Tar chunks are gathered into batches of this many bytes before they are posted: a tar of small
 * files arrives in chunks of a few hundred bytes to a few KiB, and a message per chunk cost the
 * producing thread more than its copy.
 */
const BATCH_BYTES = 256 * 1024;
/**
 * Batches posted and not yet taken by the worker's extractor: bounds the memory in between
 * (2 MiB). Enough that the two threads do not wait on each other file by file; 32 batches were no
 * faster on a 20,000-file COPY and peaked ~20 MiB higher.
 */
const CREDIT = 8;

/**
 * extractLayer on a worker thread: the same unpacking (same checks, same result), while the
 * calling thread goes on producing the tar (a COPY of thousands of files spends as much time
 * creating them as packing them; on two threads the two overlap). Reads `tar` to its end, or
 * destroys it on error; fills `opts.digests`. Falls back to extracting here when the worker's
 * script is not built (the package's `dist/`).
 */
export async function extractInWorker(tar: Readable, root: string, opts: ExtractOptions = {}): Promise<void> {
  const script = workerScript();
  if (script === undefined) return extractLayer(tar, root, opts);
  const job: ExtractJob = {
    root,
    hash: opts.digests !== undefined,
    ...(opts.reuse ? { reuse: { dir: opts.reuse.dir, digests: [...opts.reuse.digests] } } : {}),
  };
  // A small young generation: the worker allocates little that lives, and its heap counts in
  // the build's peak memory.
  const worker = new Worker(script, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  let credit = CREDIT;
  let waiting: (() => void) | undefined;
  const finished = new Promise<readonly (readonly [string, string])[]>((resolveDone, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ack') {
        credit++;
        waiting?.();
      } else if (m.type === 'done') resolveDone(m.digests);
      else reject(new RunnerError(m.code, m.message));
    });
    worker.on('error', (error) =>
      reject(new RunnerError('UNPACK_FAILED', `layer unpacking thread failed: ${error.message}`)),
    );
    worker.on('exit', (code) =>
      reject(new RunnerError('UNPACK_FAILED', `layer unpacking thread exited (${code}) before the end`)),
    );
  });
  // A failure of the worker ends the feeding loop below at its next wait.
  let workerError: unknown;
  const failed = finished.then(
    () => undefined,
    (error: unknown) => (workerError = error),
  );
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const post = async (): Promise<void> => {
    while (credit <= 0) {
      const stop = await Promise.race([
        new Promise<undefined>((r) => (waiting = () => r(undefined))),
        failed,
      ]);
      waiting = undefined;
      if (stop !== undefined) throw stop;
    }
    credit--;
    // One copy the worker owns (chunks may be views into a shared pool).
    const data = new Uint8Array(batchBytes);
    let at = 0;
    for (const chunk of batch) {
      data.set(chunk, at);
      at += chunk.length;
    }
    batch = [];
    batchBytes = 0;
    worker.postMessage({ type: 'chunk', data: data.buffer } satisfies ToWorker, [data.buffer]);
  };
  try {
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      // A worker that failed takes no more chunks: stop feeding it at once.
      if (workerError !== undefined) throw workerError;
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= BATCH_BYTES) await post();
    }
    if (batchBytes > 0) await post();
    worker.postMessage({ type: 'end' } satisfies ToWorker);
    const digests = await finished;
    for (const [path, digest] of digests) opts.digests?.set(path, digest);
  } catch (error) {
    tar.destroy();
    throw error;
  } finally {
    await worker.terminate();
  }
}

/** The compiled worker script in this package's `dist/` (also when running from src or a bundle). */
function workerScript(): string | undefined {
  const script = packageFile('dist/extract-worker.js');
  return script.found ? script.path : undefined;
}
