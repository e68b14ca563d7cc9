import { lstatSync, readdirSync, readlinkSync, realpathSync, type Dirent, type Stats } from 'node:fs';
import { join, posix, sep } from 'node:path';
import type { FileHeader, FileType } from '@kiln/oci';
import { RunnerError, statPaths, type MergedTree, type PathStat } from '@kiln/runner-native';
import type { FileStamp } from '../cache/stat-cache.js';
import type { ContextFilter } from '../context/context-filter.js';
import type { ContextReads } from './context-reads.js';
import { smallInt } from './small-int.js';

/** One entry a COPY can read: its metadata (root-relative `path`) and the host file behind it. */
export interface SourceEntry {
  readonly header: FileHeader;
  readonly hostPath: string;
  /**
   * The host file's stamp as read with `header` (context files): the content digest trusts it
   * instead of statting the file a second time.
   */
  readonly stamp?: FileStamp;
  /**
   * `dev:ino` of a regular file that has other names (nlink > 1): entries with the same value
   * are hard links of one file (see linkHardlinks). Undefined for any other entry.
   */
  readonly inode?: string;
}

/**
 * Where COPY reads from: the build context or another stage's filesystem. Paths are relative to
 * the tree's root; nothing outside the root can be reached through them.
 */
export interface SourceTree {
  /** The entry at `path`, not following a symlink in the last component; undefined if absent. */
  entry(path: string): Promise<SourceEntry | undefined>;
  /** Sorted names in directory `path` ([] when it is not a directory). */
  list(path: string): Promise<string[]>;
  /**
   * Optional, for a tree that reads many entries faster in one batch: every entry below the
   * directory `path` (one this tree gave), depth first, names sorted, each directory before its
   * contents; what entry() and list() would give one by one. `keep` sees each path relative to
   * `path` (an entry's `header.path` is `path/rel`); what it refuses is left out with everything
   * below it. The entries are made as the iterable is read, so each can be dropped once used.
   */
  walk?(path: string, keep?: (rel: string) => boolean): Promise<Iterable<SourceEntry>>;
}

/** A path that `posix.normalize` would change, or one that climbs out of the root. */
const UNCLEAN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;
/**
 * From this many entries on, a walk stats them in one helper process (a spawn costs about as
 * much as a thousand lstatSync calls; each of those builds a Stats object and four Dates).
 */
const BATCH_STAT_MIN = 1000;
/** At most this many paths per helper process, so its output (104 bytes a path) stays bounded. */
const BATCH_STAT_MAX = 200_000;

/**
 * The build context on the host, as `.dockerignore` leaves it. File-system calls are synchronous
 * on purpose: a context holds thousands of small entries, and a thread-pool round trip per
 * lstat/readdir costs more than the call itself; a large walk stats its entries in one batch
 * (see {@link statPaths}). Each entry is lstat'ed once; a file's stamp travels with it to the
 * content digest. Parent symlinks that lead outside the context make a path absent. An excluded
 * directory stays visible (without its excluded contents) only when an exception pattern could
 * re-include something below it. `reads`, when given, records what was read (see ContextReads).
 */
export function contextTree(dir: string, filter: ContextFilter, reads?: ContextReads): SourceTree {
  const top = join(dir);
  const base = top.endsWith(sep) ? top : top + sep;
  const host = (path: string): string => (path === '' ? top : base + path);
  // An excluded directory is kept only as the parent of something re-included below it
  // (as BuildKit sends it), so it is visible exactly when one of its children is.
  const excludedVisible = new Map<string, boolean>();
  const visible = (path: string): boolean => {
    if (!filter.excludes(path)) return true;
    if (!filter.hasExceptions) return false;
    let v = excludedVisible.get(path);
    if (v === undefined) {
      v = false;
      reads?.walked(path);
      if (lstatSync(host(path), { throwIfNoEntry: false })?.isDirectory()) {
        for (const name of readdirOrEmpty(host(path))) if (visible(`${path}/${name}`)) v = true;
      }
      excludedVisible.set(path, v);
    }
    return v;
  };
  const root = realpathSync(dir);
  // Paths recorded as read by noteDirs: whether each is a real directory.
  const noted = new Map<string, boolean>();
  /**
   * Records the lstat of `path` and of each directory above it: unchanged, they resolve `path`
   * the same way. A symlink on the way (followed by readdir or realpath) may lead anywhere, even
   * outside the context, which no stamp of the context covers.
   */
  const noteDirs = (path: string): void => {
    if (!reads) return;
    // The root itself always resolves to the context (whose real path the caller keeps); its
    // own stat matters only when it is the directory read.
    const prefixes = path === '' ? [''] : [];
    if (path !== '') {
      for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) prefixes.push(path.slice(0, i));
      prefixes.push(path);
    }
    for (const prefix of prefixes) {
      let isDir = noted.get(prefix);
      if (isDir === undefined) {
        reads.statted(prefix);
        const st = lstatSync(host(prefix), { throwIfNoEntry: false });
        if (st?.isSymbolicLink()) reads.uncovered();
        isDir = st?.isDirectory() === true;
        noted.set(prefix, isDir);
      }
      if (!isDir) return;
    }
  };

  // Whether a directory (context-relative) resolves inside the context. A directory that lstat
  // showed to be a real directory below one that does is inside too, so a walk needs no realpath.
  const inside = new Map<string, boolean>([['', true]]);
  const dirInside = (path: string): boolean => {
    let ok = inside.get(path);
    if (ok === undefined) {
      let real: string | undefined;
      try {
        real = realpathSync(host(path));
      } catch {
        real = undefined;
      }
      ok = real !== undefined && (real === root || real.startsWith(root + sep));
      inside.set(path, ok);
    }
    return ok;
  };
  /** The entry for `path` (clean, visible, its parent inside) from what lstat says of it. */
  const entryOf = (path: string, st: Stat, mtime: Date): SourceEntry | undefined => {
    const type = fileTypeOfMode(st.mode);
    if (!type) return undefined;
    const hostPath = host(path);
    if (type === 'directory' && path !== '') inside.set(path, true);
    const header: { -readonly [K in keyof FileHeader]: FileHeader[K] } = {
      path,
      type,
      mode: st.mode & 0o7777,
      uid: smallInt(st.uid),
      gid: smallInt(st.gid),
      size: type === 'file' ? smallInt(st.size) : 0,
      mtime,
    };
    if (type === 'symlink') header.linkname = st.linkname ?? readlinkSync(hostPath);
    if (type !== 'file') return { header, hostPath };
    return st.nlink > 1
      ? { header, hostPath, stamp: st, inode: `${st.dev}:${st.ino}` }
      : { header, hostPath, stamp: st };
  };
  const entry = (asked: string): SourceEntry | undefined => {
    const path = cleanPath(asked);
    if (path === undefined || !visible(path)) return undefined;
    const st = lstatOrAbsent(host(path));
    if (!st) return undefined;
    // The parents of a path (not the context root itself) must resolve inside the context.
    if (path !== '' && !dirInside(path.slice(0, Math.max(0, path.lastIndexOf('/'))))) return undefined;
    return entryOf(path, st, st.mtime);
  };
  const walk = async (path: string, keep?: (rel: string) => boolean): Promise<Iterable<SourceEntry>> => {
    noteDirs(path);
    reads?.walked(path);
    if (!dirInside(path)) return [];
    // Names first (readdir's file types tell where to descend), then one stat per entry.
    const paths: string[] = [];
    const parents: number[] = [];
    const visit = (dir: string, rel: string, parent: number): void => {
      for (const d of readdirSorted(host(dir))) {
        const p = dir === '' ? d.name : `${dir}/${d.name}`;
        const r = rel === '' ? d.name : `${rel}/${d.name}`;
        if (!visible(p) || (keep && !keep(r))) {
          // Nothing below it is read, unless .dockerignore exceptions made visible() look.
          if (reads && d.isDirectory() && !(filter.hasExceptions && filter.excludes(p))) reads.pruned(p);
          continue;
        }
        paths.push(p);
        parents.push(parent);
        if (d.isDirectory()) visit(p, r, paths.length - 1);
      }
    };
    visit(path, '', -1);
    const stats = paths.length >= BATCH_STAT_MIN ? await batchStat(top, paths) : undefined;
    return (function* entries(): Generator<SourceEntry> {
      const isDir: boolean[] = [];
      for (let i = 0; i < paths.length; i++) {
        const parent = parents[i] as number;
        // Below something that was not a directory when statted (replaced meanwhile): absent.
        const e = parent >= 0 && !isDir[parent] ? undefined : batchEntry(paths[i] as string, stats?.[i]);
        isDir.push(e?.header.type === 'directory');
        if (e) yield e;
      }
    })();
  };
  // A batch stat is trusted when it succeeded; an error is left to lstatSync, which reports
  // it as before (or finds the path gone).
  const batchEntry = (path: string, st: PathStat | number | undefined): SourceEntry | undefined =>
    st === undefined || typeof st === 'number'
      ? entry(path)
      : // fs.Stats rounds its Dates to the millisecond the same way.
        entryOf(path, st, new Date(Math.round(st.mtimeMs)));
  return {
    entry(asked) {
      const path = cleanPath(asked);
      if (reads && path !== undefined) {
        const parent = path.slice(0, Math.max(0, path.lastIndexOf('/')));
        if (parent !== '') noteDirs(parent);
        reads.statted(path);
      }
      return Promise.resolve(entry(asked));
    },
    list(path) {
      noteDirs(path);
      const names = readdirOrEmpty(host(path)).sort();
      return Promise.resolve(names.filter((name) => visible(path === '' ? name : `${path}/${name}`)));
    },
    walk,
  };
}

/** `asked` as a clean root-relative path ('' for the root); undefined when it climbs out. */
function cleanPath(asked: string): string | undefined {
  const path = UNCLEAN.test(asked) ? posix.normalize(asked).replace(/^\/+|\/+$/g, '') : asked;
  if (path === '..' || path.startsWith('../')) return undefined;
  return path === '.' ? '' : path;
}

/** What {@link contextTree} needs of an lstat: both `fs.Stats` and the helper's PathStat have it. */
interface Stat extends FileStamp {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly dev: number;
  readonly nlink: number;
  /** A symlink's target when already read. */
  readonly linkname?: string;
}

/** lstat of many context paths in helper processes; undefined where the helper is not built. */
async function batchStat(dir: string, paths: readonly string[]): Promise<(PathStat | number)[] | undefined> {
  let stats: (PathStat | number)[] = [];
  try {
    for (let i = 0; i < paths.length; i += BATCH_STAT_MAX)
      stats = stats.concat(await statPaths(dir, paths.slice(i, i + BATCH_STAT_MAX)));
  } catch (err) {
    if (err instanceof RunnerError && err.code === 'HELPER_MISSING') return undefined;
    throw err;
  }
  return stats;
}

const TYPE_BITS = 0o170000;
const TYPES: ReadonlyMap<number, FileType> = new Map<number, FileType>([
  [0o100000, 'file'],
  [0o040000, 'directory'],
  [0o120000, 'symlink'],
  [0o020000, 'char-device'],
  [0o060000, 'block-device'],
  [0o010000, 'fifo'],
]);

/** The entry type of an st_mode, as fileTypeOf gives it for a Stats (sockets: undefined). */
function fileTypeOfMode(mode: number): FileType | undefined {
  return TYPES.get(mode & TYPE_BITS);
}

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readdirSorted(path: string): Dirent[] {
  let found: Dirent[];
  try {
    found = readdirSync(path, { withFileTypes: true });
  } catch {
    return [];
  }
  // As Array#sort orders the names list() returns (UTF-16 code units).
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Another stage's (or image's) filesystem, read through its unpacked layers. */
export function stageTree(tree: MergedTree): SourceTree {
  return {
    entry: (path) => tree.entry(path),
    list: (path) => tree.list(path),
  };
}

/**
 * lstat, or undefined when nothing is there, also below a file: `*\/x` where the wildcard matched
 * a file asks for `file/x` (ENOTDIR).
 */
function lstatOrAbsent(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}
