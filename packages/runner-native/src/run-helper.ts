import { execFile } from 'node:child_process';
import { helperPath } from './helper-path.js';
import { RunnerError } from './runner-error.js';

/**
 * Runs one short helper subcommand (`whiteouts`, `opaque-dirs`, `xattrs`) and returns its stdout;
 * `input`, when given, is written to its stdin. Throws `HELPER_FAILED` with the helper's stderr
 * when it exits non-zero.
 */
export function runHelper(args: readonly string[], input?: Buffer): Promise<Buffer> {
  const helper = helperPath();
  return new Promise((resolve, reject) => {
    const child = execFile(
      helper,
      args,
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
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
      },
    );
    if (input !== undefined) {
      // A helper that fails early closes its stdin: the exit status tells why, not EPIPE.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input);
    }
  });
}
