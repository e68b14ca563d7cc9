import { readFile } from 'node:fs/promises';
import type { Digest } from '@kiln/oci';
import { MergedTree } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import type { StepContext } from './step-context.js';

/** A file owner. */
export interface UserIds {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The owner a `user[:group]` spec (COPY --chown, or USER for the directories WORKDIR creates)
 * gives files, as BuildKit's file operations resolve it: ids as given, names looked up in the
 * image's /etc/passwd and /etc/group; without a group, a named user's primary group, or the
 * uid itself for a numeric user; without a user (`:group`), root. The account files are read
 * only when the spec has a name.
 *
 * A name that is not found throws (INVALID_INSTRUCTION at `location`), unless `unknownAsRoot`:
 * then, as BuildKit's file operations do, an unknown user counts as 0:0 and an unknown group
 * leaves the user's gid.
 */
export async function resolveUserIds(
  spec: string,
  at: {
    readonly lowers: readonly Digest[];
    readonly ctx: StepContext;
    readonly location: ErrorLocation;
    readonly unknownAsRoot?: boolean;
  },
): Promise<UserIds> {
  const [user = '', group] = spec.split(':');
  const numeric = /^\d*$/.test(user) && (group === undefined || /^\d+$/.test(group));
  const db = numeric ? undefined : await accountFiles(at.lowers, at.ctx);
  const lookup = (name: string, kind: 'user' | 'group'): { id: number; primaryGid?: number } | undefined => {
    const found = lookupId(name, kind === 'user' ? db?.passwd : db?.group, kind);
    if (found || at.unknownAsRoot) return found;
    throw new BuilderError(
      'INVALID_INSTRUCTION',
      `unable to find ${kind} ${name}: no matching entries in /etc/${kind === 'user' ? 'passwd' : 'group'}`,
      { location: at.location },
    );
  };
  // `:group` names no user: root's files in that group, as BuildKit gives them.
  const u = (user === '' ? undefined : lookup(user, 'user')) ?? { id: 0, primaryGid: 0 };
  const uid = u.id;
  const userGid = u.primaryGid ?? u.id;
  const gid = group === undefined ? userGid : (lookup(group, 'group')?.id ?? userGid);
  return { uid, gid };
}

interface Accounts {
  readonly passwd: string;
  readonly group: string;
}

async function accountFiles(lowers: readonly Digest[], ctx: StepContext): Promise<Accounts> {
  const tree = await MergedTree.open(ctx.snapshotter, lowers);
  const read = async (path: string): Promise<string> => {
    const e = await tree.entry(path);
    return e?.header.type === 'file' ? readFile(e.hostPath, 'utf8') : '';
  };
  return { passwd: await read('etc/passwd'), group: await read('etc/group') };
}

/** A numeric id, or a name looked up in passwd/group text (name:x:id:gid:...); undefined if absent. */
function lookupId(
  name: string,
  db: string | undefined,
  kind: 'user' | 'group',
): { id: number; primaryGid?: number } | undefined {
  if (/^\d+$/.test(name)) return { id: Number(name) };
  for (const line of (db ?? '').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) {
      return {
        id: Number(f[2]),
        primaryGid: kind === 'user' && f[3] && /^\d+$/.test(f[3]) ? Number(f[3]) : undefined,
      };
    }
  }
  return undefined;
}
