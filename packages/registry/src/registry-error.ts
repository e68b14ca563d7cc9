export type RegistryErrorCode = 'INVALID_REFERENCE';

/** The one error class of @kiln/registry. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
