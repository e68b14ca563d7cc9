import { closeSync, openSync, writeSync } from 'node:fs';
import type { BuildEvent, Reporter } from '../progress/reporter.js';
import { plainProgress } from './plain-progress.js';

/**
 * `--log-file FILE`: the plain progress of the build, including every line of every step's output
 * prefixed by its step number (`#3 0.412 line`), never clipped, written to `path` (created or
 * truncated, mode 0644) as events arrive. Writes are synchronous so that the log is complete
 * whatever ends the process; `close()` is idempotent.
 */
export class LogFileProgress implements Reporter {
  private fd: number | undefined;
  private readonly plain: Reporter;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o644);
    this.plain = plainProgress((text) => {
      if (this.fd !== undefined) writeSync(this.fd, text);
    });
  }

  event(e: BuildEvent): void {
    this.plain.event(e);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
