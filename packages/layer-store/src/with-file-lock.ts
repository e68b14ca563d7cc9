import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { link, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LayerStoreError } from './layer-store-error.js';
import { isProcessAlive, tempName } from './temp-name.js';

export interface FileLockOptions {
  /** Scratch directory on the same filesystem as the lock. */
  readonly tmpDir: string;
  readonly timeoutMs?: number;
  /** A lock older than this is taken over even if its holder looks alive (holders keep it for milliseconds). */
  readonly staleMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock file shared by every process using the store. The
 * lock is created whole with link(2) (content: pid, host, token), so it never exists half-written.
 * A lock whose holder is dead (same host) or which is older than `staleMs` is taken over by
 * renaming it away first, so only one waiter can take over a given stale lock. Rejects with
 * LOCK_TIMEOUT after `timeoutMs`. The lock is released even if `fn` throws.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: FileLockOptions,
): Promise<T> {
  const { timeoutMs = 30_000, staleMs = 60_000 } = opts;
  const content = `${process.pid}\n${hostname()}\n${randomBytes(8).toString('hex')}\n`;
  const tmp = join(opts.tmpDir, tempName());
  // Synchronous where nothing is waited for: these calls cost microseconds each, a thread-pool
  // round trip ~0.1 ms, and a tag takes the lock on every build.
  writeFileSync(tmp, content);
  const deadline = Date.now() + timeoutMs;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, lockPath);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      await takeOverIfStale(lockPath, opts.tmpDir, staleMs);
      if (Date.now() > deadline) {
        throw new LayerStoreError(
          'LOCK_TIMEOUT',
          `timed out after ${timeoutMs} ms waiting for the store lock ${lockPath}`,
          'another kiln process holds the lock; if none is running, remove the lock file',
        );
      }
      await sleep(Math.min(100, 2 + attempt * 2) + Math.random() * 10);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  try {
    return await fn();
  } finally {
    await releaseLock(lockPath, content);
  }
}

async function releaseLock(lockPath: string, content: string): Promise<void> {
  let current: string | undefined;
  try {
    current = readFileSync(lockPath, 'utf8');
  } catch {
    // Gone or unreadable: not ours to remove.
  }
  if (current === content) rmSync(lockPath, { force: true });
}

async function takeOverIfStale(lockPath: string, tmpDir: string, staleMs: number): Promise<void> {
  let observed: string;
  let mtimeMs: number;
  try {
    [observed, { mtimeMs }] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
  } catch {
    return; // released meanwhile
  }
  const [pid, host] = observed.split('\n');
  const deadHolder = host === hostname() && pid !== undefined && !isProcessAlive(Number(pid));
  if (!deadHolder && Date.now() - mtimeMs < staleMs) return;
  const aside = join(tmpDir, tempName());
  try {
    await rename(lockPath, aside);
  } catch {
    return; // another waiter moved it first
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  // If the lock changed hands between our read and the rename, put the live one back.
  if (moved !== observed) await link(aside, lockPath).catch(() => undefined);
  await rm(aside, { force: true });
}
