import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { TarXattrScanner, type FileType, type FsChange } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { clampLayerPath, normaliseLayerPath } from './layer-path.js';

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

/** How layerChangesFromTar treats member names. */
export interface TarNameOptions {
  /**
   * 'strict' (the default) rejects absolute names and ".." segments with UNSAFE_PATH, for layers
   * and imported root filesystems. 'clamp' cleans them as Docker's untar does for ADD (see
   * clampLayerPath): "/abs/x" → "abs/x", "../x" → "x"; hardlink targets alike. Either way no
   * entry names anything outside the root.
   */
  readonly names?: 'strict' | 'clamp';
}

/**
 * Re-reads a tar (or, if `gzip`, tar.gz) as a changeset. Paths are normalised ("./a/" → "a");
 * absolute paths, ".." segments and hardlinks escaping the root are UNSAFE_PATH unless
 * `names: 'clamp'`. File contents are spilled to numbered files in `scratchDir` (which the
 * caller creates and removes), because the changeset's consumer opens them after the whole
 * archive has been read. PAX `SCHILY.xattr.*` records become `xattrs` with their raw bytes (see
 * TarXattrScanner). A stream `source` is read to its end or destroyed; its errors reject.
 */
export async function* layerChangesFromTar(
  source: TarSource,
  gzip: boolean,
  scratchDir: string,
  options: TarNameOptions = {},
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
  const clean = options.names === 'clamp' ? clampLayerPath : normaliseLayerPath;
  let n = 0;
  for await (const entry of extract) {
    const h = entry.header;
    const xattrs = scanner.take();
    const type = TYPES[h.type];
    if (type === undefined) {
      entry.destroy();
      throw new LayerStoreError('UNSUPPORTED_ENTRY', `tar entry "${h.name}" has unsupported type ${h.type}`);
    }
    const path = clean(h.name, 'tar entry');
    if (path === '' && type !== 'directory') {
      entry.destroy();
      throw new LayerStoreError('UNSAFE_PATH', `tar entry "${h.name}" (${h.type}) names the root`);
    }
    const header = {
      path,
      type,
      mode: h.mode & 0o7777,
      uid: h.uid,
      gid: h.gid,
      size: type === 'file' ? h.size : 0,
      mtime: h.mtime,
      ...(type === 'symlink' ? { linkname: h.linkname } : {}),
      ...(type === 'link' ? { linkname: clean(h.linkname, `hardlink "${h.name}"`) } : {}),
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
