import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import type { BlobOrigins } from './blob-io.js';
import { RegistryError } from './registry-error.js';

const DIGEST = /^(sha256|sha512):([a-f0-9]{64,128})$/;

/**
 * Blob origins kept under `dir`, one small text file per blob (`<dir>/sha256/<hex>`, one
 * `registry/repository` per line). Writes only append a line that is not there yet, so several
 * kiln processes may record at once without a lock: the worst a race does is repeat a line.
 * Synchronous calls: a push looks up and records every blob, each call costs microseconds, and
 * a thread-pool round trip ~0.1 ms.
 */
export function fileBlobOrigins(dir: string): BlobOrigins {
  const fileOf = (digest: Digest): string => {
    const m = DIGEST.exec(digest);
    if (!m) throw new RegistryError('PROTOCOL', `not a blob digest: ${digest}`);
    return join(dir, m[1] as string, m[2] as string);
  };
  const read = (file: string): string[] => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  return {
    async lookup(digest) {
      return [...new Set(read(fileOf(digest)).reverse())];
    },
    async record(digest, repository) {
      if (repository.includes('\n')) throw new RegistryError('PROTOCOL', 'a repository name has no newline');
      const file = fileOf(digest);
      if (read(file).includes(repository)) return;
      mkdirSync(join(file, '..'), { recursive: true });
      appendFileSync(file, `${repository}\n`);
    },
  };
}
