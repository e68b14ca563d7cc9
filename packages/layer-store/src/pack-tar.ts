import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Pack } from 'tar-stream';
import { fsyncPath } from './fsync-path.js';
import { tarPackChunks } from './tar-pack-chunks.js';
import { tempName } from './temp-name.js';

/**
 * Streams a tar into `sink`: `produce` adds the entries to a fresh pack, which is then finalized.
 * Settles once both sides are done; the first failure wins and destroys the other side. The sink
 * is ended on success and destroyed on failure.
 */
export async function packTar(sink: Writable, produce: (pack: Pack) => Promise<void>): Promise<void> {
  const pack = tar.pack();
  const writing = pipeline(tarPackChunks(pack), sink);
  const producing = (async () => {
    await produce(pack);
    pack.finalize();
  })();
  producing.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  const [produced, written] = await Promise.allSettled([producing, writing]);
  if (produced.status === 'rejected') throw produced.reason;
  if (written.status === 'rejected') throw written.reason;
}

/** {@link packTar} into a temp file beside `dest`, then fsync and rename: `dest` is whole or absent. */
export async function packTarFile(dest: string, produce: (pack: Pack) => Promise<void>): Promise<void> {
  const tmp = join(dirname(dest), `.${basename(dest)}.${tempName()}`);
  try {
    await packTar(createWriteStream(tmp, { flags: 'wx' }), produce);
    await fsyncPath(tmp);
    await rename(tmp, dest);
    await fsyncPath(dirname(dest));
  } finally {
    await rm(tmp, { force: true });
  }
}
