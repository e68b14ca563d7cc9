/** What commands may touch of the process: output, cancellation, and error context. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly signal: AbortSignal;
  /** Set by `build` so errors can show a code frame from the Dockerfile. */
  dockerfileForErrors?: string;
  /** `--insecure-registry` hosts: reached over plain HTTP (loopback hosts always are). */
  insecureRegistries?: readonly string[];
}
