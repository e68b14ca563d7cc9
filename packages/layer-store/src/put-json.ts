import { Readable } from 'node:stream';
import { canonicalJson, sha256Digest, type Descriptor } from '@kiln/oci';
import { putBlob } from './put-blob.js';
import type { StorePaths } from './store-paths.js';

/** Stores a document as canonical JSON (sorted keys) and returns its descriptor. Idempotent. */
export async function putJson(paths: StorePaths, doc: unknown, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(canonicalJson(doc), 'utf8');
  const { digest, size } = await putBlob(paths, Readable.from([bytes]), sha256Digest(bytes));
  return { mediaType, digest, size };
}
