import type { Readable } from 'node:stream';
import type { TarHeader } from './tar-header.js';

/** Where a regular file's bytes come from; the consumer reads it to its end or destroys it. */
export type ContentSource = NodeJS.ReadableStream | Readable;

/** One tar entry of a layer before it is written: its header, how to read its content, its sort key. */
export interface LayerEntry {
  /** Normalised path without a trailing slash. */
  readonly path: string;
  readonly key: Buffer;
  readonly header: TarHeader;
  readonly open?: () => ContentSource;
  /** The host file behind `open()`, when there is one (FsChange.sourcePath). */
  readonly sourcePath?: string;
}
