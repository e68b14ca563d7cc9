import { readFile } from 'node:fs/promises';
import type { Digest } from '@kiln/oci';
import type { Copy } from '@kiln/parser';
import { MergedTree } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { parseChmod } from '../copy/parse-chmod.js';
import type { CopyOwnership } from '../copy/plan-copy.js';
import { expandInStage } from './expand-in-stage.js';
import type { StepContext } from './step-context.js';

/**
 * `--chown` and `--chmod` of a COPY: ids as given, or user/group names resolved through the
 * destination image's /etc/passwd and /etc/group (as BuildKit does); a user without a group
 * gets the user's primary group. `--chmod` octal or symbolic.
 */
export async function resolveOwnership(
  ins: Copy,
  at: {
    lowers: readonly Digest[];
    ctx: StepContext;
    location: ErrorLocation;
    vars: ReadonlyMap<string, string>;
  },
): Promise<CopyOwnership> {
  let uid = 0;
  let gid = 0;
  if (ins.chown !== undefined) {
    const spec = expandInStage(ins.chown, at.vars, { ins, file: at.ctx.file, escape: at.ctx.escape });
    const [user = '', group] = spec.split(':');
    const db =
      /^\d+$/.test(user) && (group === undefined || /^\d+$/.test(group))
        ? undefined
        : await accountFiles(at.lowers, at.ctx);
    const u = lookupId(user, db?.passwd, 'user', at.location);
    uid = u.id;
    gid = group === undefined ? (u.primaryGid ?? u.id) : lookupId(group, db?.group, 'group', at.location).id;
  }
  if (ins.chmod === undefined) return { uid, gid };
  const chmod = parseChmod(
    expandInStage(ins.chmod, at.vars, { ins, file: at.ctx.file, escape: at.ctx.escape }),
  );
  if (!chmod) {
    throw new BuilderError('INVALID_INSTRUCTION', `invalid --chmod=${ins.chmod}`, {
      location: at.location,
      hint: 'use an octal mode (0755) or chmod clauses (u+x,go-w)',
    });
  }
  return { uid, gid, chmod };
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

/** A numeric id, or a name looked up in passwd/group text (name:x:id:gid:...). */
function lookupId(
  name: string,
  db: string | undefined,
  kind: 'user' | 'group',
  location: ErrorLocation,
): { id: number; primaryGid?: number } {
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
  throw new BuilderError(
    'INVALID_INSTRUCTION',
    `unable to find ${kind} ${name}: no matching entries in /etc/${kind === 'user' ? 'passwd' : 'group'}`,
    {
      location,
    },
  );
}
