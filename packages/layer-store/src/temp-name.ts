import { randomBytes } from 'node:crypto';

/**
 * A unique temp file name `<pid>-<random>.tmp`. The pid lets a later process tell a temp file
 * left by a killed writer from one a live writer is still filling.
 */
export function tempName(): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}.tmp`;
}

/** The writer pid encoded in a {@link tempName}, or undefined if the name is not one. */
export function tempNamePid(name: string): number | undefined {
  const m = /^(\d+)-[0-9a-f]+\.tmp$/.exec(name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Whether a process with this pid exists (in this pid namespace). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
