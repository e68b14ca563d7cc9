import { posix } from 'node:path';
import { RunnerError } from './runner-error.js';
import type { RunMount } from './run-mount.js';

/**
 * The helper's `--mount TYPE SRC DST OPTS` arguments for `mounts`, parents before children (a
 * mount inside another one is made after it). Every value is its own argv element, so paths need
 * no quoting. Throws `BAD_MOUNT` for a relative or root target, a bad secret id or a bad number.
 */
export function mountArgs(mounts: readonly RunMount[]): string[] {
  const resolved = mounts.map((m) => ({ m, target: targetOf(m) }));
  // Stable: mounts at the same depth keep the caller's order.
  resolved.sort((a, b) => depth(a.target) - depth(b.target));
  const args: string[] = [];
  for (const { m, target } of resolved) {
    args.push('--mount', m.type, m.type === 'tmpfs' ? '-' : m.source, target, options(m).join(','));
  }
  return args;
}

function targetOf(m: RunMount): string {
  if (m.type === 'secret' && !/^[A-Za-z0-9._-]+$/.test(m.id)) {
    throw new RunnerError('BAD_MOUNT', `secret id "${m.id}" is not a plain name`);
  }
  const raw = m.type === 'secret' ? (m.target ?? `/run/secrets/${m.id}`) : m.target;
  if (!raw.startsWith('/') || /[\n\0]/.test(raw)) {
    throw new RunnerError('BAD_MOUNT', `mount target "${raw}" must be an absolute path`);
  }
  const target = posix.normalize(raw).replace(/\/+$/, '');
  if (target === '' || target.split('/').includes('..')) {
    throw new RunnerError('BAD_MOUNT', `mount target "${raw}" cannot be the root or above it`);
  }
  return target;
}

function depth(target: string): number {
  return target.split('/').length;
}

function options(m: RunMount): string[] {
  switch (m.type) {
    case 'bind':
      return [m.readwrite === true ? 'rw' : 'ro'];
    case 'volume':
      return [m.readonly === true ? 'ro' : 'rw'];
    case 'cache':
      return [`sharing=${m.sharing ?? 'shared'}`, ...owner(m)];
    case 'tmpfs':
      return m.size === undefined ? [] : [`size=${count('size', m.size)}`];
    case 'secret':
      return owner(m);
    case 'ssh':
      // Owner and mode belong to the socket itself (see startSshAgentProxy), not to the bind.
      return [];
  }
}

function owner(m: { uid?: number; gid?: number; mode?: number }): string[] {
  const out: string[] = [];
  if (m.uid !== undefined) out.push(`uid=${count('uid', m.uid)}`);
  if (m.gid !== undefined) out.push(`gid=${count('gid', m.gid)}`);
  if (m.mode !== undefined) out.push(`mode=${(count('mode', m.mode) & 0o7777).toString(8)}`);
  return out;
}

function count(what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RunnerError('BAD_MOUNT', `mount ${what} ${n} is not a count`);
  return n;
}
