import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isGzipFile } from './is-gzip-file.js';
import { layerChangesFromDirectory } from './layer-changes-from-directory.js';
import { layerChangesFromTar } from './layer-changes-from-tar.js';
import type { StorePaths } from './store-paths.js';
import { tempName } from './temp-name.js';
import { writeLayer, type Layer } from './write-layer.js';

/**
 * Stores a root filesystem as one layer. `source` is a directory (walked with
 * {@link layerChangesFromDirectory}) or a tar / tar.gz file (detected by its gzip magic bytes;
 * entries re-read, paths normalised, escapes rejected with UNSAFE_PATH). Scratch space is removed
 * afterwards, whether or not the import succeeded.
 */
export async function importRootfs(paths: StorePaths, source: string): Promise<Layer> {
  if ((await stat(source)).isDirectory()) return writeLayer(paths, layerChangesFromDirectory(source));
  const scratch = join(paths.tmp, tempName());
  await mkdir(scratch);
  try {
    return await writeLayer(paths, layerChangesFromTar(source, await isGzipFile(source), scratch));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
