import type { Pack } from 'tar-stream';
import { LayerStoreError } from './layer-store-error.js';
import { binaryPaxHeader } from './pax-header.js';
import type { ContentSource } from './layer-entry.js';
import type { TarHeader } from './tar-header.js';

/**
 * Writes one entry into a tar-stream pack, streaming a regular file's content with backpressure
 * (or writing it at once when it is a Buffer already in memory). The source must yield exactly `header.size` bytes: otherwise rejects with FILE_SIZE_MISMATCH
 * (before a byte too many reaches the tar) and destroys the pack. The source is read to its end
 * or destroyed. Resolves once the pack has taken the whole entry. Extended attributes go into a
 * PAX header kiln encodes itself (see binaryPaxHeader), so binary values survive.
 */
export async function writeTarEntry(
  pack: Pack,
  tarHeader: TarHeader,
  source?: ContentSource | AsyncIterable<Buffer> | Buffer,
): Promise<void> {
  let header = tarHeader;
  if (header.xattrs !== undefined && Object.keys(header.xattrs).length > 0) {
    const pax = binaryPaxHeader(header);
    // Between entries the pack's output is ours to append to: the previous entry has been taken whole.
    pack.push(pax.block);
    header = pax.entry;
  }
  let sink: ReturnType<Pack['entry']> | undefined;
  // tar-stream mutates the header it is given: hand it a copy.
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry({ ...header }, (err) => (err ? reject(err) : resolve()));
  });
  done.catch(() => undefined);
  if (sink === undefined) throw new Error('tar-stream did not create an entry');
  // A failed entry also errors the sink; the failure reaches the caller through `done` or our throw.
  sink.on('error', () => undefined);
  if (header.type !== 'file') {
    if (source && 'destroy' in source) source.destroy();
    return done;
  }
  let written = 0;
  try {
    if (Buffer.isBuffer(source)) {
      // Content already in memory (a small file read ahead): one write, no iteration, which is
      // most of an entry's cost in a layer of many small files.
      if (source.length > header.size) throw sizeMismatch(header, `more than ${header.size}`);
      if (source.length < header.size) throw sizeMismatch(header, String(source.length));
      written = source.length;
      sink.write(source);
    } else if (source) {
      for await (const chunk of source as AsyncIterable<Buffer | string>) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        written += buf.length;
        if (written > header.size) throw sizeMismatch(header, `more than ${header.size}`);
        if (!sink.write(buf)) await drained(sink, pack);
      }
    }
    if (written !== header.size) throw sizeMismatch(header, String(written));
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  sink.end(undefined);
  return done;
}

/** A regular file whose content is not its header's size (`got`: what it yielded). */
export function sizeMismatch(header: TarHeader, got: string): LayerStoreError {
  return new LayerStoreError(
    'FILE_SIZE_MISMATCH',
    `file "${header.name}" yielded ${got} bytes, but its header says ${header.size}`,
    'the file changed while the layer was written',
  );
}

/** Waits for the entry to take more; rejects when the entry or the whole pack closes first. */
function drained(sink: ReturnType<Pack['entry']>, pack: Pack): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      pack.off('close', onClose);
    };
    const onDrain = (): void => {
      done();
      resolve();
    };
    const onClose = (): void => {
      done();
      reject(new Error('tar stream closed while writing an entry'));
    };
    // A destroyed pack does not always close the entry being written: watch both.
    if (pack.destroyed) {
      reject(new Error('tar stream closed while writing an entry'));
      return;
    }
    sink.once('drain', onDrain);
    sink.once('close', onClose);
    pack.once('close', onClose);
  });
}
