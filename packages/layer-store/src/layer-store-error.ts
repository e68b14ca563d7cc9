export type LayerStoreErrorCode =
  | 'BLOB_NOT_FOUND'
  | 'BLOB_DIGEST_MISMATCH'
  | 'BLOB_SIZE_MISMATCH'
  | 'DOCUMENT_TOO_LARGE'
  | 'INVALID_DOCUMENT'
  | 'INVALID_TAG'
  | 'TAG_NOT_FOUND'
  | 'INVALID_CACHE_KEY'
  | 'INVALID_CHANGE'
  | 'DUPLICATE_PATH'
  | 'FILE_SIZE_MISMATCH'
  | 'UNSAFE_PATH'
  | 'UNSUPPORTED_ENTRY'
  | 'UNSUPPORTED_STORE_VERSION'
  | 'LOCK_TIMEOUT'
  | 'INCOMPATIBLE_MEDIA_TYPE'
  | 'INVALID_ARCHIVE'
  | 'INVALID_SETTING'
  | 'LAYER_MISMATCH'
  | 'WRITE_FAILED';

/** The one error class of @kiln/layer-store: a string code, a message, an optional hint and cause. */
export class LayerStoreError extends Error {
  override readonly name = 'LayerStoreError';
  constructor(
    readonly code: LayerStoreErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
