import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { helperPath } from '@kiln/runner-native';

/** What a tree listing compares of one entry (see {@link treeListing}). */
export interface ListedEntry {
  readonly path: string;
  readonly type: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  readonly mode: string;
  readonly owner: string;
  readonly size?: number;
  readonly mtimeMs?: number;
  readonly sha256?: string;
  readonly target?: string;
  readonly rdev?: number;
  /** The first path (in listing order) of the same inode, when another name has it. */
  readonly linkOf?: string;
  readonly opaque?: true;
}

/** The directories below `dir` marked opaque for overlayfs ("." for `dir`), by the helper's walk. */
export function opaqueDirsOf(dir: string): Set<string> {
  const out = execFileSync(helperPath(), ['opaque-dirs', '--dir', dir]);
  return new Set(
    out
      .toString('utf8')
      .split('\0')
      .filter((p) => p !== ''),
  );
}

/**
 * Every entry below `dir` (and `dir` itself as "."), sorted by path, as comparable data: type,
 * mode & 07777, owner, size, content sha256, symlink target, device number, opaque marker, and
 * which names share an inode inside the tree. Directory mtimes are left out (creating entries
 * changes them), and so are a whiteout's mode and mtime (see below).
 */
export function treeListing(dir: string): ListedEntry[] {
  const opaque = opaqueDirsOf(dir);
  const paths = ['.', ...(readdirSync(dir, { recursive: true }) as string[])].sort();
  const firstOfInode = new Map<number, string>();
  return paths.map((path) => {
    const full = join(dir, path);
    const st = lstatSync(full);
    const common = { path, mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}` };
    if (st.isDirectory()) return { ...common, type: 'dir', ...(opaque.has(path) ? { opaque: true } : {}) };
    if (st.isCharacterDevice() && st.rdev === 0) {
      // A whiteout is a marker: overlayfs makes it mode 0000 in an upper dir, the helper 0600
      // when it unpacks a tar (whose `.wh.` entry has no mode of its own); its time is when it was made.
      return { path, type: 'char', rdev: 0, owner: common.owner, mode: 'whiteout' };
    }
    const base = { ...common, mtimeMs: st.mtimeMs };
    const linked = firstOfInode.get(st.ino);
    if (linked === undefined) firstOfInode.set(st.ino, path);
    const linkOf = linked !== undefined && !st.isDirectory() ? { linkOf: linked } : {};
    if (st.isFile()) {
      const sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
      return { ...base, type: 'file', size: st.size, sha256, ...linkOf };
    }
    if (st.isSymbolicLink()) return { ...base, type: 'symlink', target: readlinkSync(full), ...linkOf };
    if (st.isCharacterDevice()) return { ...base, type: 'char', rdev: st.rdev, ...linkOf };
    if (st.isBlockDevice()) return { ...base, type: 'block', rdev: st.rdev, ...linkOf };
    if (st.isFIFO()) return { ...base, type: 'fifo', ...linkOf };
    return { ...base, type: 'socket', ...linkOf };
  });
}
