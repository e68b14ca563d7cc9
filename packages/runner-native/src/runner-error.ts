export type RunnerErrorCode =
  | 'HELPER_MISSING'
  | 'HELPER_FAILED'
  | 'SPAWN_FAILED'
  | 'SETUP_FAILED'
  | 'UNSAFE_PATH'
  | 'UNPACK_FAILED'
  | 'LAYER_MISSING'
  | 'NOT_ROOT'
  | 'BAD_MOUNT'
  | 'BAD_RLIMIT'
  | 'BAD_LIMIT'
  | 'UNSUPPORTED'
  | 'USERNS_FAILED';

/** The one error class of @kiln/runner-native: a string code, a message, an optional hint, the cause. */
export class RunnerError extends Error {
  override readonly name = 'RunnerError';
  constructor(
    readonly code: RunnerErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
