import { isatty } from 'node:tty';
import type { CliIo } from './cli-io.js';
import { processOutput } from './process-output.js';

/**
 * The CliIo of this process, for the CLI's entry points (main.ts, push-main.ts): stdout and
 * stderr written without a stream until a command asks for one (see processOutput), and a signal
 * that SIGINT or SIGTERM aborts; a second one exits at once with 130. Installs the signal
 * handlers: call it once per process.
 */
export function processCliIo(): CliIo {
  const controller = new AbortController();
  let interrupts = 0;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (++interrupts > 1) process.exit(130);
      controller.abort(new Error(`interrupted by ${sig}`));
    });
  }
  const stdout = processOutput(1, () => process.stdout);
  const stderr = processOutput(2, () => process.stderr);
  return {
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
