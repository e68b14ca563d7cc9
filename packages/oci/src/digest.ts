import { createHash } from 'node:crypto';

/** An OCI content digest, always `sha256:<64 lowercase hex>`. Made only by {@link parseDigest} or {@link sha256Digest}. */
export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Validates and brands a digest string; throws `OciError('INVALID_DIGEST')` otherwise. */
export function parseDigest(value: string): Digest {
  if (!DIGEST_RE.test(value)) throw new OciError('INVALID_DIGEST', `invalid digest "${value}"`);
  return value as Digest;
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** The sha256 digest of a buffer or string (for small documents; stream blobs instead). */
export function sha256Digest(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** The hex part of a digest, used as a file name. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

import { OciError } from './oci-error.js';
