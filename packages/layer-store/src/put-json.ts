import { canonicalJson, sha256Digest, type Descriptor, type Digest } from '@kiln/oci';
import { blobPath, type StorePaths } from './store-paths.js';
import { writeFileAtomic } from './write-file-atomic.js';

/**
 * Stores a small blob held in memory (a document, a small layer): one write, fsync and rename,
 * then the blob directory fsynced (writeFileAtomic), without a stream. Idempotent.
 */
export async function putBytes(paths: StorePaths, bytes: Buffer): Promise<{ digest: Digest; size: number }> {
  const digest = sha256Digest(bytes);
  await writeFileAtomic(paths.tmp, blobPath(paths, digest), bytes);
  return { digest, size: bytes.length };
}

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
