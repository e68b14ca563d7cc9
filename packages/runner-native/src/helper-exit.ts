import type { ChildProcess } from 'node:child_process';
import { RunnerError } from './runner-error.js';

/**
 * The exit code and signal of the helper process `child` (started from the binary `helper`),
 * once it has exited and its stdio streams are closed. Rejects with SPAWN_FAILED when it could
 * not be started at all.
 */
export function helperExit(
  child: ChildProcess,
  helper: string,
): Promise<[code: number | null, signal: NodeJS.Signals | null]> {
  return new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new RunnerError('SPAWN_FAILED', `cannot start ${helper}: ${error.message}`, undefined, {
          cause: error,
        }),
      ),
    );
    child.once('close', (c, s) => resolve([c, s]));
  });
}
