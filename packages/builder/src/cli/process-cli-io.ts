import { isatty } from 'node:tty';
import type { CliIo } from './cli-io.js';
import { processOutput } from './process-output.js';

/** The CliIo of the process, as its entry points see it. */
export interface ProcessCliIo extends CliIo {
  /** Whether stdout's or stderr's reader went away (EPIPE): the command was aborted then. */
  readonly outputClosed: boolean;
}

/**
 * The CliIo of this process, for the CLI's entry points (main.ts, push-main.ts): stdout and
 * stderr written without a stream until a command asks for one (see processOutput), and a signal
 * that SIGINT or SIGTERM aborts; a second one exits at once with 130. A closed stdout or stderr
 * (EPIPE) aborts the signal too, as SIGPIPE would end a Unix tool, and drops later output.
 * Installs the signal handlers: call it once per process.
 */
export function processCliIo(): ProcessCliIo {
  const controller = new AbortController();
  let outputClosed = false;
  const closed = (): void => {
    outputClosed = true;
    controller.abort(new Error('the output was closed'));
  };
  let interrupts = 0;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (++interrupts > 1) process.exit(130);
      controller.abort(new Error(`interrupted by ${sig}`));
    });
  }
  const stdout = processOutput(1, () => process.stdout, closed);
  const stderr = processOutput(2, () => process.stderr, closed);
  return {
    get outputClosed() {
      return outputClosed;
    },
    stdout: (t) => stdout.write(t),
    stderr: (t) => stderr.write(t),
    get stdoutStream() {
      return stdout.stream();
    },
    get stderrIsTty() {
      return isatty(2);
    },
    // A pseudo-terminal without a size reports 0 columns.
    columns: () => stderr.stream().columns || 80,
    signal: controller.signal,
  };
}
