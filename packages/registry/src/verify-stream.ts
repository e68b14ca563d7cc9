import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Digest } from '@kiln/oci';
import { RegistryError } from './registry-error.js';

/**
 * A pass-through that hashes and counts bytes, and errors before its end (so a consumer never
 * sees a clean EOF) when the content is longer or shorter than `size` or does not hash to `digest`.
 */
export function verifyStream(expected: { readonly digest: Digest; readonly size: number }): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > expected.size) {
        callback(
          new RegistryError('SIZE_MISMATCH', `blob ${expected.digest} is larger than ${expected.size} bytes`),
        );
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const digest = `sha256:${hash.digest('hex')}`;
      if (size !== expected.size)
        callback(
          new RegistryError(
            'SIZE_MISMATCH',
            `blob ${expected.digest} has ${size} bytes, expected ${expected.size}`,
          ),
        );
      else if (digest !== expected.digest)
        callback(
          new RegistryError('DIGEST_MISMATCH', `blob content is ${digest}, expected ${expected.digest}`),
        );
      else callback();
    },
  });
}
