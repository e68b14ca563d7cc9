import { parentPort, workerData } from 'node:worker_threads';
import { hashShare, type HashDone, type HashJob } from './hash-files.js';

/** Worker thread entry of hashFiles: hashes batches of the job's paths, then posts the digests. */
const job = workerData as HashJob;
parentPort?.postMessage({ digests: hashShare(job.paths, new Int32Array(job.next)) } satisfies HashDone);
