import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { TarXattrScanner, type FileType, type FsChange } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { normaliseLayerPath } from './layer-path.js';

const TYPES: Partial<Record<tar.Header['type'], FileType>> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
  'character-device': 'char-device',
  'block-device': 'block-device',
  fifo: 'fifo',
};

/** Where layerChangesFromTar reads a tar: a file, or a function opening a stream of one. */
export type TarSource = string | (() => Readable);

/**
 * Re-reads a tar (or, if `gzip`, tar.gz) as a changeset. Paths are normalised ("./a/" → "a");
 * absolute paths, ".." segments and hardlinks escaping the root are UNSAFE_PATH. File contents
 * are spilled to numbered files in `scratchDir` (which the caller creates and removes), because
 * the changeset's consumer opens them after the whole archive has been read. PAX `SCHILY.xattr.*` records become `xattrs` with their raw bytes (see
 * TarXattrScanner). A stream `source` is read to its end or destroyed; its errors reject.
 */
export async function* layerChangesFromTar(
  source: TarSource,
  gzip: boolean,
  scratchDir: string,
): AsyncGenerator<FsChange> {
  const extract = tar.extract();
  const input = typeof source === 'string' ? createReadStream(source) : source();
  const scanner = new TarXattrScanner();
  const scan = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      scanner.write(chunk);
      callback(null, chunk);
    },
  });
  const feeding = (
    gzip ? pipeline(input, createGunzip(), scan, extract) : pipeline(input, scan, extract)
  ).catch((err: unknown) => err);
  let n = 0;
  for await (const entry of extract) {
    const h = entry.header;
    const xattrs = scanner.take();
    const type = TYPES[h.type];
    if (type === undefined) {
      entry.destroy();
      throw new LayerStoreError('UNSUPPORTED_ENTRY', `tar entry "${h.name}" has unsupported type ${h.type}`);
    }
    const path = normaliseLayerPath(h.name, `tar entry "${h.name}"`);
    const header = {
      path,
      type,
      mode: h.mode & 0o7777,
      uid: h.uid,
      gid: h.gid,
      size: type === 'file' ? h.size : 0,
      mtime: h.mtime,
      ...(type === 'symlink' ? { linkname: h.linkname } : {}),
      ...(type === 'link' ? { linkname: normaliseLayerPath(h.linkname, `hardlink "${h.name}"`) } : {}),
      ...(type === 'char-device' || type === 'block-device'
        ? { devmajor: h.devmajor, devminor: h.devminor }
        : {}),
      ...(xattrs ? { xattrs } : {}),
    };
    if (type === 'file') {
      const spill = join(scratchDir, String(n++));
      await pipeline(entry, createWriteStream(spill, { flags: 'wx' }));
      yield { kind: 'upsert', header, open: () => createReadStream(spill) };
    } else {
      entry.resume();
      yield { kind: 'upsert', header };
    }
  }
  const failure = await feeding;
  if (failure !== undefined) throw failure;
}
