import { combineReporters } from '../progress/combine-reporters.js';
import { silentReporter, type Reporter } from '../progress/reporter.js';
import type { CliIo } from './cli-io.js';
import { LogFileProgress } from './log-file-progress.js';
import { plainProgress } from './plain-progress.js';
import { rawJsonProgress } from './raw-json-progress.js';
import { StepOutputs } from './step-outputs.js';
import { TtyProgress } from './tty-progress.js';

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'rawjson', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** The progress of one `kiln build`: what to hand `build()`, and what to do when it ends. */
export interface BuildProgress {
  readonly reporter: Reporter;
  /** Draws the final frame and closes the log file; call once, whether the build failed or not. */
  finish(): void;
  /** The whole output of the failed step, kept when there is no log file (see build-command). */
  failedOutput(): string | undefined;
}

/**
 * Chooses the renderer for `mode` on stderr (`auto`: `tty` when stderr is a terminal, else
 * `plain`; `quiet`: nothing, errors are still printed by the CLI) and adds the `--log-file`
 * writer when given. Without a log file, the output of running steps is also kept so that a
 * failure can show all of the failing step's output.
 */
export function buildProgress(mode: ProgressMode, io: CliIo, logFile?: string): BuildProgress {
  const tty =
    mode === 'tty' || (mode === 'auto' && io.stderrIsTty)
      ? new TtyProgress({ write: io.stderr, columns: io.columns })
      : undefined;
  const display: Reporter =
    tty ??
    (mode === 'rawjson'
      ? rawJsonProgress(io.stderr)
      : mode === 'quiet'
        ? silentReporter
        : plainProgress(io.stderr));
  const log = logFile === undefined ? undefined : new LogFileProgress(logFile);
  const outputs = log === undefined ? new StepOutputs() : undefined;
  return {
    reporter: combineReporters(display, ...(log ? [log] : []), ...(outputs ? [outputs] : [])),
    finish() {
      tty?.close();
      log?.close();
    },
    failedOutput: () => outputs?.failed(),
  };
}
