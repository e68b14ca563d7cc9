import { execFile } from 'node:child_process';
import { helperPath } from './helper-path.js';
import { RunnerError } from './runner-error.js';

/**
 * Runs one short helper subcommand (`whiteouts`, `opaque-dirs`) and returns its stdout.
 * Throws `HELPER_FAILED` with the helper's stderr when it exits non-zero.
 */
export function runHelper(args: readonly string[]): Promise<Buffer> {
  const helper = helperPath();
  return new Promise((resolve, reject) => {
    execFile(helper, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const message = stderr.toString().trim() || error.message;
        reject(
          new RunnerError('HELPER_FAILED', `kiln-helper ${args[0] ?? ''}: ${message}`, undefined, {
            cause: error,
          }),
        );
      } else {
        resolve(stdout);
      }
    });
  });
}
