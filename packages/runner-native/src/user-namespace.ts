import { readFileSync } from 'node:fs';

/** One line of a uid or gid map: ids `inside`..`inside+count-1` are `outside`.. on the host. */
export interface IdRange {
  readonly inside: number;
  readonly outside: number;
  readonly count: number;
}

/** The user namespace this process runs in, as /proc/self/uid_map and gid_map describe it. */
export interface UserNamespace {
  /** The host's own namespace (the identity map over every id): kiln runs as real root. */
  readonly initial: boolean;
  readonly uids: readonly IdRange[];
  readonly gids: readonly IdRange[];
}

let current: UserNamespace | undefined;

/**
 * The user namespace of this process, read once (a process never changes it after exec). Outside
 * the initial namespace (rootless mode) files can only be owned by mapped ids, device nodes cannot
 * be created, and overlayfs keeps its markers in `user.overlay.*` xattrs.
 */
export function userNamespace(): UserNamespace {
  if (current !== undefined) return current;
  const uids = parseIdMap(readMap('/proc/self/uid_map'));
  const gids = parseIdMap(readMap('/proc/self/gid_map'));
  const first = uids[0];
  const initial =
    uids.length === 1 && first?.inside === 0 && first.outside === 0 && first.count === 4294967295;
  current = { initial, uids, gids };
  return current;
}

/** Parses the text of a /proc/PID/uid_map or gid_map (three numbers a line). */
export function parseIdMap(text: string): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/).map(Number);
    const [inside, outside, count] = fields;
    if (fields.length !== 3 || inside === undefined || outside === undefined || count === undefined) continue;
    if (![inside, outside, count].every(Number.isSafeInteger)) continue;
    ranges.push({ inside, outside, count });
  }
  return ranges;
}

/** Whether `id` (as seen inside the namespace) is mapped by `ranges`. */
export function mapsId(ranges: readonly IdRange[], id: number): boolean {
  return ranges.some((r) => id >= r.inside && id < r.inside + r.count);
}

function readMap(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // No procfs (not Linux): kiln's runner cannot work there anyway; treat it as real root.
    return '0 0 4294967295';
  }
}
