import { sha256Digest, type Digest } from '@kiln/oci';
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
