import type { Pack } from 'tar-stream';

/**
 * A tar-stream pack (a streamx stream) as a plain async iterable, which node's pipeline handles
 * reliably; ending the iteration early destroys the pack.
 */
export async function* tarPackChunks(pack: Pack): AsyncGenerator<Buffer> {
  for await (const chunk of pack as AsyncIterable<Buffer>) yield chunk;
}
