import { loadLayerRecord, saveLayerRecord } from './layer-records.js';

/**
 * The opaque directories recorded in `file` by {@link saveOpaqueRecord}, or undefined when there
 * is no usable record (missing, too large, not what this module writes): the caller walks the
 * layer again. Never throws.
 */
export async function loadOpaqueRecord(file: string): Promise<Set<string> | undefined> {
  const parsed = await loadLayerRecord(file);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { opaque } = parsed as { opaque?: unknown };
  if (!Array.isArray(opaque) || !opaque.every((p): p is string => typeof p === 'string')) return undefined;
  return new Set(opaque);
}

/**
 * Records `opaque` (the opaque directories of one unpacked layer) as `dir/name`, whole or not at
 * all (see saveLayerRecord). Best effort: without a record the next process walks the layer again.
 */
export function saveOpaqueRecord(dir: string, name: string, opaque: ReadonlySet<string>): Promise<void> {
  return saveLayerRecord(dir, name, { opaque: [...opaque].sort() });
}
