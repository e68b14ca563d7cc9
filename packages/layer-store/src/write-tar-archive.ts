import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FsChange } from '@kiln/oci';
import { collectLayerEntries } from './collect-layer-entries.js';
import type { LayerEntry } from './layer-entry.js';
import type { ReadyEntry } from './read-ahead.js';
import { tarChunks } from './tar-chunks.js';

export interface WriteTarArchiveOptions {
  /** Seconds since the epoch; entry mtimes above it are clamped to it. */
  readonly sourceDateEpoch?: number;
}

/**
 * Writes a changeset as one plain (uncompressed) tar into `sink`, with the same rules and
 * determinism as a layer (sorted entries, explicit headers, hardlinks after their targets, unsafe
 * paths rejected), but into a caller's stream instead of the store: used for `--output type=tar`.
 * The sink is ended on success and destroyed on failure; atomicity (temp file → rename) is the
 * caller's.
 */
export async function writeTarArchive(
  changes: AsyncIterable<FsChange>,
  sink: Writable,
  opts: WriteTarArchiveOptions = {},
): Promise<void> {
  const entries = await collectLayerEntries(changes, opts.sourceDateEpoch);
  // The layer writer's tar writer: the same bytes a layer of these changes would hold.
  await pipeline(tarChunks(opened(entries), CHUNK_BYTES), sink);
}

const CHUNK_BYTES = 256 * 1024;

/** Each entry with its content opened when its turn comes (regular files only). */
async function* opened(entries: readonly LayerEntry[]): AsyncGenerator<ReadyEntry> {
  for (const entry of entries)
    yield entry.header.type === 'file' && entry.open ? { entry, source: entry.open() } : { entry };
}
