import type { DockerfileErrorCode } from './dockerfile-error.js';

/**
 * A problem in one instruction; parseDockerfile turns it into a positioned diagnostic of the
 * DockerfileError it throws. Internal: never escapes the package.
 */
export class InstructionSyntaxError extends Error {
  readonly hint?: string;
  constructor(
    message: string,
    readonly code: DockerfileErrorCode = 'DOCKERFILE_SYNTAX',
    options: { readonly hint?: string } = {},
  ) {
    super(message);
    if (options.hint !== undefined) this.hint = options.hint;
  }
}
