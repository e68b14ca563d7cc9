import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isGzipFile } from './is-gzip-file.js';
import { layerChangesFromDirectory, type DirectoryXattrs } from './layer-changes-from-directory.js';
import { layerChangesFromTar } from './layer-changes-from-tar.js';
import type { StorePaths } from './store-paths.js';
import { tempName } from './temp-name.js';
import { writeLayer, type Layer } from './write-layer.js';

export interface ImportRootfsOptions {
  /**
   * Reads the extended attributes below a directory source (Node cannot): with it, a directory's
   * xattrs (`security.capability` included) go into the layer; without it, none do.
   */
  readonly readXattrs?: (dir: string) => Promise<DirectoryXattrs>;
  /** SOURCE_DATE_EPOCH: file times later than it are written as it (as a build's layers are). */
  readonly sourceDateEpoch?: number;
}

/**
 * Stores a root filesystem as one layer. `source` is a directory (walked with
 * {@link layerChangesFromDirectory}) or a tar / tar.gz file (detected by its gzip magic bytes;
 * entries re-read, paths normalised, escapes rejected with UNSAFE_PATH; PAX xattrs kept). Scratch
 * space is removed afterwards, whether or not the import succeeded.
 */
export async function importRootfs(
  paths: StorePaths,
  source: string,
  opts: ImportRootfsOptions = {},
): Promise<Layer> {
  if ((await stat(source)).isDirectory()) {
    const xattrs = opts.readXattrs ? await opts.readXattrs(source) : undefined;
    return writeLayer(paths, layerChangesFromDirectory(source, xattrs), {
      sourceDateEpoch: opts.sourceDateEpoch,
    });
  }
  const scratch = join(paths.tmp, tempName());
  await mkdir(scratch);
  try {
    return await writeLayer(paths, layerChangesFromTar(source, await isGzipFile(source), scratch), {
      sourceDateEpoch: opts.sourceDateEpoch,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
