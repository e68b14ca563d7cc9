import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '@kiln/oci';

/**
 * Where pulled content goes (the builder wires it to its local store). `put` consumes the
 * stream to its end, must verify the bytes hash to `digest` (the stream itself also errors
 * before its end on a digest or size mismatch), and is idempotent.
 */
export interface BlobSink {
  /** The stored size of a blob, or undefined if absent; present blobs are not fetched again. */
  stat(digest: Digest): Promise<number | undefined>;
  put(content: Readable, digest: Digest): Promise<void>;
}

/** What a push reads from: the manifest to push and every blob it references. */
export interface ImageSource {
  /** The manifest (not an index) to push; its bytes are pushed exactly as `open` returns them. */
  readonly manifest: Descriptor;
  /** A fresh stream of a blob's bytes; called again for every retry. The caller destroys or reads it. */
  open(digest: Digest): Promise<Readable>;
  /**
   * A small blob's whole bytes, verified against its digest, or a rejection past `maxBytes`.
   * Optional: the manifest is read through it when given (one read, no stream), else from `open`.
   */
  read?(digest: Digest, maxBytes: number): Promise<Buffer>;
}

/**
 * Where blobs were seen: repositories, named `registry/repository`, known to hold each blob
 * (pushed there or pulled from there). A push asks it for a repository of the same registry to
 * mount from instead of uploading. Only a hint: a wrong or stale entry costs one mount request
 * that the registry answers with an upload session, and callers ignore `record` failures.
 */
export interface BlobOrigins {
  /** Repositories that held the blob, most recently recorded first. */
  lookup(digest: Digest): Promise<readonly string[]>;
  record(digest: Digest, repository: string): Promise<void>;
}
