import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { extractLayer, type ExtractOptions } from './extract-layer.js';
import { packageFile } from './package-file.js';
import { RunnerError, type RunnerErrorCode } from './runner-error.js';

/** What the worker unpacks (see extract-worker.ts). */
export interface ExtractJob {
  readonly root: string;
  readonly reuse?: { readonly dir: string; readonly digests: readonly (readonly [string, string])[] };
}
export type ToWorker = { readonly type: 'chunk'; readonly data: ArrayBuffer } | { readonly type: 'end' };
export type FromWorker =
  | { readonly type: 'ack' }
  | { readonly type: 'done'; readonly digests: readonly (readonly [string, string])[] }
  | { readonly type: 'error'; readonly code: RunnerErrorCode; readonly message: string };

/** Tar chunks posted and not yet taken by the worker's extractor: bounds the memory in between. */
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
  try {
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      // A worker that failed takes no more chunks: stop feeding it at once.
      if (workerError !== undefined) throw workerError;
      while (credit <= 0) {
        const stop = await Promise.race([
          new Promise<undefined>((r) => (waiting = () => r(undefined))),
          failed,
        ]);
        waiting = undefined;
        if (stop !== undefined) throw stop;
      }
      credit--;
      // A copy the worker owns (a chunk may be a view into a shared pool).
      const data = new Uint8Array(chunk).buffer;
      worker.postMessage({ type: 'chunk', data } satisfies ToWorker, [data]);
    }
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
