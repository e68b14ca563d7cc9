import type { ContentSource, LayerEntry } from './layer-entry.js';

/** A layer entry whose small content may already be in memory. */
export interface ReadyEntry {
  readonly entry: LayerEntry;
  /** The file's bytes when read ahead, else a stream to read now (or undefined: no content). */
  readonly source?: ContentSource | AsyncIterable<Buffer> | Buffer;
  /** A small host file (FsChange.sourcePath) the consumer reads itself, at once, instead. */
  readonly hostFile?: string;
}

export interface ReadAheadOptions {
  /** Files up to this size are read ahead; larger ones are streamed when their turn comes. */
  readonly maxFileBytes: number;
  /** Bytes held by read-ahead at most, so memory stays flat whatever the layer's size. */
  readonly windowBytes: number;
  /** Files being read at the same time at most. */
  readonly parallel: number;
}

/**
 * Yields entries in their order, reading the contents of small files ahead of time and several
 * at once: a layer of many small files is bound by file-system round trips (open, read, close),
 * not by bytes, and overlapping them keeps the writer busy. A read that fails is reported when
 * its entry's turn comes, never earlier.
 */
export async function* readAhead(
  entries: readonly LayerEntry[],
  opts: ReadAheadOptions,
): AsyncGenerator<ReadyEntry> {
  // A queue read from `head`: Array#shift moves every element left once the array is large (it
  // took ~0.13 s for 20,000 entries); consumed slots are dropped in bulk instead.
  let pending: ({ entry: LayerEntry; bytes: number; content?: Promise<Buffer[]> } | undefined)[] = [];
  let head = 0;
  let next = 0;
  let held = 0;
  let reading = 0;
  const fill = (): void => {
    while (next < entries.length && reading < opts.parallel) {
      const entry = entries[next] as LayerEntry;
      const small =
        entry.open !== undefined && entry.header.type === 'file' && entry.header.size <= opts.maxFileBytes;
      if (small && held + entry.header.size > opts.windowBytes && head < pending.length) return;
      next++;
      if (!small || !entry.open) {
        pending.push({ entry, bytes: 0 });
        continue;
      }
      if (entry.sourcePath !== undefined) {
        // Read when its turn comes (see below): nothing to do ahead.
        pending.push({ entry, bytes: 0 });
        continue;
      }
      held += entry.header.size;
      reading++;
      const content = collect(entry.open()).finally(() => {
        reading--;
      });
      content.catch(() => undefined);
      pending.push({ entry, bytes: entry.header.size, content });
    }
  };
  fill();
  while (head < pending.length) {
    const item = pending[head] as NonNullable<(typeof pending)[number]>;
    pending[head++] = undefined;
    if (head >= 4096 && head * 2 >= pending.length) {
      pending = pending.slice(head);
      head = 0;
    }
    if (item.content) {
      const chunks = await item.content;
      held -= item.bytes;
      fill();
      yield { entry: item.entry, source: chunks.length === 1 ? chunks[0] : fromChunks(chunks) };
    } else if (item.entry.sourcePath !== undefined && item.entry.header.size <= opts.maxFileBytes) {
      // A small host file is read synchronously by the consumer (into its output): open/read/
      // close cost microseconds, while each async step is a thread-pool round trip, which
      // dominates layers of many small files.
      fill();
      yield { entry: item.entry, hostFile: item.entry.sourcePath };
    } else {
      fill();
      yield { entry: item.entry, source: item.entry.open?.() };
    }
    fill();
  }
}

async function collect(source: ContentSource): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source as AsyncIterable<Buffer | string>)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return chunks;
}

async function* fromChunks(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}
