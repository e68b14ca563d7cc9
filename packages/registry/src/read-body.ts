import type { Readable } from 'node:stream';
import { RegistryError } from './registry-error.js';

/**
 * Reads a small document (manifest, config, error body, token) into memory, at most `maxBytes`;
 * a larger body is destroyed and rejected with PROTOCOL. Blobs are streamed, never read here.
 */
export async function readBody(body: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      throw new RegistryError('PROTOCOL', `${what} is larger than ${maxBytes} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
