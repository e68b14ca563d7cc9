import { canonicalJson, sha256Digest, type Descriptor } from '@kiln/oci';
import { putBytes } from './put-bytes.js';
import type { StorePaths } from './store-paths.js';

/** A document as the store keeps it: canonical JSON (sorted keys), and its descriptor. */
export function jsonBlob(doc: unknown, mediaType: string): { bytes: Buffer; descriptor: Descriptor } {
  const bytes = Buffer.from(canonicalJson(doc), 'utf8');
  return { bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length } };
}

/** Stores a document as canonical JSON (sorted keys) and returns its descriptor. Idempotent. */
export async function putJson(paths: StorePaths, doc: unknown, mediaType: string): Promise<Descriptor> {
  const { bytes, descriptor } = jsonBlob(doc, mediaType);
  await putBytes(paths, bytes);
  return descriptor;
}
