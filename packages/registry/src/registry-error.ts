export type RegistryErrorCode =
  | 'INVALID_REFERENCE'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NOT_FOUND'
  | 'TOO_MANY_REQUESTS'
  | 'SERVER_ERROR'
  | 'NETWORK'
  | 'PROTOCOL'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NO_MATCHING_PLATFORM'
  | 'INVALID_CREDENTIALS_FILE'
  | 'CREDENTIAL_HELPER'
  | 'CERTIFICATE'
  | 'CANCELLED';

export interface RegistryErrorDetails {
  readonly hint?: string;
  readonly cause?: unknown;
  /** The HTTP status that produced the error, if any. */
  readonly status?: number;
  /** The registry's own error codes (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, ...), in order. */
  readonly serverCodes?: readonly string[];
  /** Whether repeating the same request may succeed (5xx, 429, a reset connection). */
  readonly retryable?: boolean;
  /** How long the server asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
}

/**
 * The one error class of @kiln/registry. Messages never contain credentials or tokens: they are
 * built from redacted URLs and server messages (see `redactSecrets`).
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly hint?: string;
  readonly status?: number;
  readonly serverCodes: readonly string[];
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    details: RegistryErrorDetails | string = {},
  ) {
    const d: RegistryErrorDetails = typeof details === 'string' ? { hint: details } : details;
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    this.hint = d.hint;
    this.status = d.status;
    this.serverCodes = d.serverCodes ?? [];
    this.retryable = d.retryable ?? false;
    this.retryAfterMs = d.retryAfterMs;
  }
}
