import type { Writable } from 'node:stream';

/** What commands may touch of the process: output, cancellation, and error context. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** stdout as a stream, for binary outputs (`--output type=tar,dest=-`); never ended by commands. */
  readonly stdoutStream: Writable;
  /** Whether stderr is a terminal (`--progress auto` then draws the live view). */
  readonly stderrIsTty: boolean;
  /** The terminal's width (columns) now. */
  readonly columns: () => number;
  readonly signal: AbortSignal;
  /** Set by `build` so errors can show a code frame from the Dockerfile. */
  dockerfileForErrors?: string;
  /**
   * Set by `build` when a step failed: the step output to show instead of the error's tail
   * (`text`), or, with `--log-file`, where the whole output is (`logFile`; the tail is shown).
   */
  failedStep?: { readonly text?: string; readonly logFile?: string };
  /** `--insecure-registry` hosts: reached over plain HTTP (loopback hosts always are). */
  insecureRegistries?: readonly string[];
  /** `--registry-ca` files: CAs trusted for HTTPS to registries, besides the system's and certs.d. */
  registryCaFiles?: readonly string[];
}
