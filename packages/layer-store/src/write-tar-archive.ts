import type { Writable } from 'node:stream';
import type { FsChange } from '@kiln/oci';
import { collectLayerEntries } from './collect-layer-entries.js';
import { packTar } from './pack-tar.js';
import { writeTarEntry } from './write-tar-entry.js';

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
  await packTar(sink, async (pack) => {
    for (const entry of entries) await writeTarEntry(pack, entry.header, entry.open?.());
  });
}
