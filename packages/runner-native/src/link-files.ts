import type { LayerFile } from '@kiln/oci';
import { runHelper } from './run-helper.js';
import { RunnerError } from './runner-error.js';

/**
 * Hardlinks each of `files` from `from` into `to` (making missing parent directories, 0755)
 * when `from`'s file is a regular file with exactly its attributes, in one helper process
 * (`kiln-helper link-files`): one boolean per file, in order, true when linked. Paths through a
 * symlink on either side, absolute paths and `..` are never followed (false). Sort `files` by
 * path: the helper opens the parents of consecutive files once.
 */
export async function linkFiles(from: string, to: string, files: readonly LayerFile[]): Promise<boolean[]> {
  if (files.length === 0) return [];
  // One buffer made before the await: an array of the records would stay alive until the helper
  // answers, each record a tree of a dozen concatenated strings (~0.4 KB per file).
  const input = Buffer.from(
    files
      .map((f) => `${f.path}\0${(f.mode & 0o7777).toString(8)}\0${f.uid}\0${f.gid}\0${f.size}\0${f.mtime}\0`)
      .join(''),
  );
  const out = await runHelper(['link-files', '--from', from, '--to', to], input);
  if (out.length !== files.length)
    throw new RunnerError(
      'HELPER_FAILED',
      `kiln-helper link-files answered ${out.length} of ${files.length} records`,
    );
  const linked: boolean[] = [];
  for (const byte of out) linked.push(byte === 0x31);
  return linked;
}
