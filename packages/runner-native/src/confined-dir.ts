import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunnerError } from './runner-error.js';

/**
 * The directory `root/parts...`, checked one component at a time with lstat so that no symlink is
 * ever followed: a component that is a symlink or a non-directory is `UNSAFE_PATH`. With
 * `create`, missing components are made (mode 0755, as tar does for implied parents); without
 * it, a missing component is `UNPACK_FAILED`. Synchronous calls on purpose: layers hold
 * thousands of entries, and a thread-pool round trip per lstat costs more than the call.
 */
export async function confinedDir(root: string, parts: readonly string[], create: boolean): Promise<string> {
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined) {
      if (!create) throw new RunnerError('UNPACK_FAILED', `missing directory "${parts.join('/')}" in layer`);
      mkdirSync(dir, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) {
      throw new RunnerError('UNSAFE_PATH', `layer path "${parts.join('/')}" goes through symlink "${part}"`);
    }
    if (!st.isDirectory())
      throw new RunnerError('UNSAFE_PATH', `layer path "${parts.join('/')}": "${part}" is not a directory`);
  }
  return dir;
}
