import { join } from 'node:path';
import { digestHex, type Digest } from '@kiln/oci';

/** Where everything lives under a store root (an OCI image layout plus kiln's own `kiln/` records). */
export interface StorePaths {
  readonly root: string;
  readonly ociLayout: string;
  readonly index: string;
  readonly blobs: string;
  readonly kiln: string;
  readonly version: string;
  readonly tmp: string;
  readonly cache: string;
  readonly lock: string;
  readonly settings: string;
}

export function storePaths(root: string): StorePaths {
  const kiln = join(root, 'kiln');
  return {
    root,
    ociLayout: join(root, 'oci-layout'),
    index: join(root, 'index.json'),
    blobs: join(root, 'blobs', 'sha256'),
    kiln,
    version: join(kiln, 'version'),
    tmp: join(kiln, 'tmp'),
    cache: join(kiln, 'cache'),
    lock: join(kiln, 'lock'),
    settings: join(kiln, 'settings.json'),
  };
}

/** The file holding a blob: `blobs/sha256/<hex>`. */
export function blobPath(paths: StorePaths, digest: Digest): string {
  return join(paths.blobs, digestHex(digest));
}
