import type { CliIo } from './cli-io.js';
import type { ProcessCliIo } from './process-cli-io.js';

/** The exit code of a command whose output's reader went away: a Unix tool's end by SIGPIPE. */
export const OUTPUT_CLOSED_EXIT_CODE = 128 + 13;

/**
 * Runs a command (`work`) and returns its exit code: 0, what reportFailure says of its error, or
 * {@link OUTPUT_CLOSED_EXIT_CODE} without a word when its stdout or stderr was closed on it
 * (`kiln images | head -1`), whether it then failed (it was aborted) or not.
 */
export async function exitCodeOf(work: () => Promise<unknown>, io: ProcessCliIo): Promise<number> {
  let code = 0;
  try {
    await work();
  } catch (err) {
    // Reporting the error may be what finds stderr closed.
    if (!io.outputClosed) code = await reportFailure(err, io);
  }
  return io.outputClosed ? OUTPUT_CLOSED_EXIT_CODE : code;
}

/** A command line the CLI does not accept: reported with a pointer to `kiln --help`, exit code 2. */
export class UsageError extends Error {}

/**
 * kiln's own failure in a command whose exit code is otherwise another program's (`kiln run`
 * passes the container's on): reported as `reason` would be, with `exitCode` instead of 1 or 2,
 * so that a caller can tell kiln's failure from the program's (125, as `docker run`).
 */
export class OwnFailure extends Error {
  constructor(
    readonly reason: unknown,
    readonly exitCode: number,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

/**
 * Writes to stderr what a failed command's error means to the user and returns the exit code:
 * 2 for a {@link UsageError}, an {@link OwnFailure}'s own code, 1 for anything else, rendered by renderError (a code frame from
 * the Dockerfile, the failed step's output, the hint). Only a failed command pays for loading the
 * renderer and, through it, the Dockerfile parser.
 */
export async function reportFailure(err: unknown, io: CliIo): Promise<number> {
  if (err instanceof OwnFailure) {
    await reportFailure(err.reason, io);
    return err.exitCode;
  }
  if (err instanceof UsageError) {
    io.stderr(`kiln: ${err.message}\nRun 'kiln --help' for usage.\n`);
    return 2;
  }
  const { renderError } = await import('./render-error.js');
  io.stderr(renderError(err, io.dockerfileForErrors, io.failedStep));
  return 1;
}
