import { lstatSync, readdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { fileTypeOf, type FileHeader } from '@kiln/oci';
import type { MergedTree } from '@kiln/runner-native';
import type { ContextFilter } from '../context/context-filter.js';

/** One entry a COPY can read: its metadata (root-relative `path`) and the host file behind it. */
export interface SourceEntry {
  readonly header: FileHeader;
  readonly hostPath: string;
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
}

/**
 * The build context on the host, as `.dockerignore` leaves it. File-system calls are synchronous
 * on purpose: a context holds thousands of small entries, and a thread-pool round trip per
 * lstat/readdir costs more than the call itself. Parent symlinks that lead outside
 * the context make a path absent. An excluded directory stays visible (without its excluded
 * contents) only when an exception pattern could re-include something below it.
 */
export function contextTree(dir: string, filter: ContextFilter): SourceTree {
  const memo = new Map<string, Promise<boolean>>();
  // An excluded directory is kept only as the parent of something re-included below it
  // (as BuildKit sends it), so it is visible exactly when one of its children is.
  const visible = (path: string): Promise<boolean> => {
    let v = memo.get(path);
    if (v === undefined) {
      v = computeVisible(path);
      memo.set(path, v);
    }
    return v;
  };
  const computeVisible = async (path: string): Promise<boolean> => {
    if (!filter.excludes(path)) return true;
    if (!filter.hasExceptions) return false;
    if (!lstatOrUndefined(join(dir, path))?.isDirectory()) return false;
    for (const name of readdirOrEmpty(join(dir, path))) {
      if (await visible(`${path}/${name}`)) return true;
    }
    return false;
  };
  const root = realpathSync(dir);
  // Whether a directory resolves inside the context, per directory (entries share parents).
  const inside = new Map<string, boolean>();
  const parentInside = (parent: string): boolean => {
    let ok = inside.get(parent);
    if (ok === undefined) {
      let real: string | undefined;
      try {
        real = realpathSync(parent);
      } catch {
        real = undefined;
      }
      ok = real !== undefined && (real === root || real.startsWith(root + sep));
      inside.set(parent, ok);
    }
    return ok;
  };
  return {
    async entry(path) {
      if (!(await visible(path))) return undefined;
      const hostPath = join(dir, path);
      const st = lstatOrUndefined(hostPath);
      if (!st) return undefined;
      // The parents of a path (not the context root itself) must resolve inside the context.
      if (path !== '' && !parentInside(join(hostPath, '..'))) return undefined;
      const type = fileTypeOf(st);
      if (!type) return undefined;
      const header: FileHeader = {
        path,
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: type === 'file' ? st.size : 0,
        mtime: st.mtime,
        ...(type === 'symlink' ? { linkname: readlinkSync(hostPath) } : {}),
      };
      return { header, hostPath };
    },
    async list(path) {
      const names = readdirOrEmpty(join(dir, path)).sort();
      const shown: string[] = [];
      for (const name of names) if (await visible(path === '' ? name : `${path}/${name}`)) shown.push(name);
      return shown;
    },
  };
}

function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Another stage's (or image's) filesystem, read through its unpacked layers. */
export function stageTree(tree: MergedTree): SourceTree {
  return {
    entry: (path) => tree.entry(path),
    list: (path) => tree.list(path),
  };
}
