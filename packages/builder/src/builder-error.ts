/** Where in a Dockerfile a build error belongs. */
export interface ErrorLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type BuilderErrorCode =
  | 'BASE_NOT_FOUND'
  | 'RUN_FAILED'
  | 'COPY_SOURCE_NOT_FOUND'
  | 'CONTEXT_ESCAPE'
  | 'UNSUPPORTED'
  | 'UNKNOWN_STAGE'
  | 'INVALID_BUILD_ARG'
  | 'INVALID_INSTRUCTION'
  | 'INVALID_OUTPUT'
  | 'INVALID_CACHE_SPEC'
  | 'CANCELLED'
  | 'STORE_BUSY'
  | 'STORE_CORRUPT'
  | 'IMAGE_NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_RUNNING'
  | 'NAME_IN_USE'
  | 'CONTEXT_CHANGED'
  | 'MISSING_TOOL'
  | 'INVALID_ARCHIVE';

/**
 * The one error class of @kiln/builder. With a location its message starts with
 * `file:line:col:` like a compiler's; `detail` carries what the user needs to see next (a
 * failed step's output).
 */
export class BuilderError extends Error {
  override readonly name = 'BuilderError';
  readonly code: BuilderErrorCode;
  readonly location?: ErrorLocation;
  readonly hint?: string;
  readonly detail?: string;

  constructor(
    code: BuilderErrorCode,
    message: string,
    extra: { location?: ErrorLocation; hint?: string; detail?: string; cause?: unknown } = {},
  ) {
    const where = extra.location
      ? `${extra.location.file}:${extra.location.line}:${extra.location.column}: `
      : '';
    super(`${where}${message}`, { cause: extra.cause });
    this.code = code;
    this.location = extra.location;
    this.hint = extra.hint;
    this.detail = extra.detail;
  }
}
