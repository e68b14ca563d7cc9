import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { extractLayer } from './extract-layer.js';
import { RunnerError } from './runner-error.js';
import type { ExtractJob, FromWorker, ToWorker } from './extract-in-worker.js';

/**
 * Worker thread entry of extractInWorker: unpacks the tar chunks the parent posts into
 * `job.root`, acknowledging each chunk when the extractor takes it (the parent's credit), then
 * posts the file digests, or the error.
 */
const port = parentPort;
const job = workerData as ExtractJob;
if (port) {
  const queue: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'chunk') queue.push(Buffer.from(m.data));
    else ended = true;
    wake?.();
  });
  async function* chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        port?.postMessage({ type: 'ack' } satisfies FromWorker);
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  }
  const digests = new Map<string, string>();
  const reuse = job.reuse ? { dir: job.reuse.dir, digests: new Map(job.reuse.digests) } : undefined;
  extractLayer(Readable.from(chunks()), job.root, {
    ...(job.hash ? { digests } : {}),
    ...(reuse ? { reuse } : {}),
  }).then(
    () => port.postMessage({ type: 'done', digests: [...digests] } satisfies FromWorker),
    (error: unknown) =>
      port.postMessage({
        type: 'error',
        code: error instanceof RunnerError ? error.code : 'UNPACK_FAILED',
        message: error instanceof Error ? error.message : String(error),
      } satisfies FromWorker),
  );
}
