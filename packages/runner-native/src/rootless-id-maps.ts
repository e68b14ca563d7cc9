import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { subordinateIds, type SubordinateRange } from './subordinate-ids.js';
import type { IdRange } from './user-namespace.js';

/** The id maps of the user namespace kiln enters when a user other than root starts it. */
export interface RootlessIdMaps {
  readonly uidMap: readonly IdRange[];
  readonly gidMap: readonly IdRange[];
  /**
   * No subordinate ids: only root of the namespace exists (it is the user). Files of other
   * owners are stored as root's and RUN steps cannot switch to another user.
   */
  readonly singleId: boolean;
  /** What the user should know before the build starts (set when `singleId`). */
  readonly warning?: string;
}

export interface RootlessIdMapsOptions {
  readonly uid?: number;
  readonly gid?: number;
  /** The login name, as /etc/subuid may name the user either way. Default: from the passwd database. */
  readonly user?: string;
  /** Defaults: /etc/subuid and /etc/subgid. */
  readonly subuidFile?: string;
  readonly subgidFile?: string;
}

/**
 * The maps for rootless mode: 0 inside is the user, 1..N are the user's subordinate ranges from
 * /etc/subuid and /etc/subgid, in file order (what newuidmap/newgidmap will accept). Without
 * ranges in either file, a single-id map (0 = the user) with a `warning`. Reads the files only.
 */
export function rootlessIdMaps(options: RootlessIdMapsOptions = {}): RootlessIdMaps {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const gid = options.gid ?? process.getgid?.() ?? 0;
  const user = options.user ?? userInfo().username;
  const subuids = subordinateIds(readText(options.subuidFile ?? '/etc/subuid'), user, uid);
  const subgids = subordinateIds(readText(options.subgidFile ?? '/etc/subgid'), user, uid);
  if (subuids.length === 0 || subgids.length === 0) {
    const missing = subuids.length === 0 ? '/etc/subuid' : '/etc/subgid';
    return {
      uidMap: [{ inside: 0, outside: uid, count: 1 }],
      gidMap: [{ inside: 0, outside: gid, count: 1 }],
      singleId: true,
      warning:
        `rootless mode without subordinate ids (none for ${user} in ${missing}): a single-id user ` +
        'namespace, so files owned by other users are stored as root and RUN steps can only run ' +
        `as root; add ranges with \`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}\``,
    };
  }
  return { uidMap: stack(uid, subuids), gidMap: stack(gid, subgids), singleId: false };
}

/** 0 → `own`, then the ranges one after another from 1. */
function stack(own: number, ranges: readonly SubordinateRange[]): IdRange[] {
  const map: IdRange[] = [{ inside: 0, outside: own, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    map.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return map;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
