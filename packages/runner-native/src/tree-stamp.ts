import { hash } from 'node:crypto';
import { runHelper } from './run-helper.js';
import { RunnerError } from './runner-error.js';

/** What a build read of a tree (paths relative to its root; '' is the root itself). */
export interface TreeReads {
  /** Paths whose lstat was read (their content too, for files: the stamp covers it by ctime). */
  readonly stat: readonly string[];
  /** Directories read recursively: each is stamped with everything below it. */
  readonly walk: readonly string[];
  /** Directories below a walked one whose contents were not read (left out of the walk). */
  readonly prune: readonly string[];
}

/** A stamp of {@link TreeReads}: equal stamps mean nothing that was read has changed. */
export interface TreeStamp {
  /** sha256 (hex) over every stamped path's lstat: type, mode, owner, size, inode, device, times. */
  readonly digest: string;
  /** The latest mtime or ctime among them, in ms since the epoch. */
  readonly latestMs: number;
  /**
   * Whether some stamped path has a ctime in whole seconds: its file system may keep no finer
   * times (FAT, some network file systems), so changes a second apart can share a stamp.
   */
  readonly coarse: boolean;
}

const TRAILER_BYTES = 24;

/**
 * Stamps what a build read below `dir` in one helper process (`kiln-helper tree-stamp`): an lstat
 * of each `stat` path, of each `walk` directory and everything below it except `prune`d
 * directories' contents. A file's content is trusted unchanged while its stamp is (any write moves
 * its ctime), a directory's names while its mtime is; a caller must not trust a stamp whose
 * `latestMs` is so recent that a further change could share its timestamps. Paths must stay
 * inside `dir` (no leading `/`, no `..`): others fail with `HELPER_FAILED`.
 */
export async function treeStamp(dir: string, reads: TreeReads): Promise<TreeStamp> {
  const items = [
    ...reads.stat.map((p) => `S${p}\0`),
    ...reads.walk.map((p) => `W${p}\0`),
    ...reads.prune.map((p) => `P${p}\0`),
  ];
  const out = await runHelper(['tree-stamp', '--dir', dir], Buffer.from(items.join('')));
  if (out.length < TRAILER_BYTES)
    throw new RunnerError('HELPER_FAILED', 'kiln-helper tree-stamp: malformed output: no trailer');
  const body = out.subarray(0, out.length - TRAILER_BYTES);
  const seconds = Number(out.readBigUInt64LE(body.length));
  const nanos = Number(out.readBigUInt64LE(body.length + 8));
  const wholeSeconds = out.readBigUInt64LE(body.length + 16);
  return {
    digest: hash('sha256', body),
    latestMs: seconds * 1000 + nanos / 1e6,
    coarse: wholeSeconds > 0n,
  };
}
