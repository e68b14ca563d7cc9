export type OciErrorCode = 'INVALID_DIGEST' | 'INVALID_DOCUMENT' | 'INVALID_REFERENCE';

/** The one error class of @kiln/oci: a string code, a message, an optional hint. */
export class OciError extends Error {
  override readonly name = 'OciError';
  constructor(
    readonly code: OciErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
