import { loadLayerRecord, saveLayerRecord } from './layer-records.js';

/**
 * The file digests recorded in `file` by {@link saveDigestRecord} (root-relative path → sha256
 * hex of a regular file's bytes), or undefined when there is no usable record. Never throws.
 */
export async function loadDigestRecord(file: string): Promise<Map<string, string> | undefined> {
  const parsed = await loadLayerRecord(file);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { files } = parsed as { files?: unknown };
  if (typeof files !== 'object' || files === null) return undefined;
  const out = new Map<string, string>();
  for (const [path, digest] of Object.entries(files as Record<string, unknown>)) {
    // A length check, not a regex per file (20,000 of them): a record's digests are only ever
    // compared for equality with sha256 hex digests kiln computed, which a malformed one never equals.
    if (typeof digest !== 'string' || digest.length !== 64) return undefined;
    out.set(path, digest);
  }
  return out;
}

/**
 * Records the digests of an unpacked layer's regular files (those without extended attributes),
 * whole or not at all (see saveLayerRecord). A later unpack may hardlink a file it would write
 * from the layer's file with the same path, digest and attributes (see `extractLayer`'s `reuse`):
 * a wrong record would give wrong bytes, hence the fsync'd write. Best effort otherwise.
 */
export function saveDigestRecord(
  dir: string,
  name: string,
  digests: ReadonlyMap<string, string>,
): Promise<void> {
  return saveLayerRecord(dir, name, { files: Object.fromEntries(digests) });
}
