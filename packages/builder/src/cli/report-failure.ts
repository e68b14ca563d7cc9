import type { CliIo } from './cli-io.js';

/** A command line the CLI does not accept: reported with a pointer to `kiln --help`, exit code 2. */
export class UsageError extends Error {}

/**
 * Writes to stderr what a failed command's error means to the user and returns the exit code:
 * 2 for a {@link UsageError}, 1 for anything else, rendered by renderError (a code frame from
 * the Dockerfile, the failed step's output, the hint). Only a failed command pays for loading the
 * renderer and, through it, the Dockerfile parser.
 */
export async function reportFailure(err: unknown, io: CliIo): Promise<number> {
  if (err instanceof UsageError) {
    io.stderr(`kiln: ${err.message}\nRun 'kiln --help' for usage.\n`);
    return 2;
  }
  const { renderError } = await import('./render-error.js');
  io.stderr(renderError(err, io.dockerfileForErrors, io.failedStep));
  return 1;
}
