import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { canonicalJson, digestHex, MediaType, REF_NAME_ANNOTATION, type Descriptor } from '@kiln/oci';
import { fsyncPath } from './fsync-path.js';
import type { Image } from './images.js';
import { openBlob } from './open-blob.js';
import type { StorePaths } from './store-paths.js';
import { layoutHeader } from './layout-header.js';
import { tempName } from './temp-name.js';
import { writeFileAtomic } from './write-file-atomic.js';
import { archiveEntry, writeTarFile } from './pack-tar.js';
import type { ReadyEntry } from './read-ahead.js';

export interface ExportOciLayoutOptions {
  /** Write one uncompressed tar file at `dest` instead of a directory. */
  readonly tar: boolean;
}

/**
 * Writes a standalone OCI image layout holding one image: `oci-layout`, an `index.json` with
 * one manifest descriptor annotated `org.opencontainers.image.ref.name=refName`, and the
 * manifest, config and layer blobs (each verified while copied). As a directory, `dest` is
 * created if needed and its index.json replaced; as a tar, the file is deterministic and
 * appears at `dest` only when complete (temp file, fsync, rename).
 */
export async function exportOciLayout(
  paths: StorePaths,
  image: Image,
  refName: string,
  dest: string,
  opts: ExportOciLayoutOptions,
): Promise<void> {
  const m = image.manifestDescriptor;
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: [
      {
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        annotations: { [REF_NAME_ANNOTATION]: refName },
      },
    ],
  };
  const documents = { index: canonicalJson(index), layout: canonicalJson({ imageLayoutVersion: '1.0.0' }) };
  const blobs = new Map<string, Descriptor>();
  for (const d of [m, image.manifest.config, ...image.manifest.layers]) blobs.set(digestHex(d.digest), d);
  const sorted = [...blobs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d);
  if (opts.tar) await exportTar(paths, sorted, documents, dest);
  else await exportDirectory(paths, sorted, documents, dest);
}

interface LayoutDocuments {
  readonly index: string;
  readonly layout: string;
}

async function exportDirectory(
  paths: StorePaths,
  blobs: readonly Descriptor[],
  documents: LayoutDocuments,
  dest: string,
): Promise<void> {
  const blobDir = join(dest, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  for (const d of blobs) {
    const target = join(blobDir, digestHex(d.digest));
    if ((await stat(target).catch(() => undefined))?.size === d.size) continue;
    const tmp = join(blobDir, tempName());
    try {
      await pipeline(await openBlob(paths, d.digest, d.size), createWriteStream(tmp, { flags: 'wx' }));
      await fsyncPath(tmp);
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  await fsyncPath(blobDir);
  await writeFileAtomic(dest, join(dest, 'oci-layout'), documents.layout);
  await writeFileAtomic(dest, join(dest, 'index.json'), documents.index);
}

async function exportTar(
  paths: StorePaths,
  blobs: readonly Descriptor[],
  documents: LayoutDocuments,
  dest: string,
): Promise<void> {
  await writeTarFile(dest, layoutEntries(paths, blobs, documents));
}

/** The layout's members in archive order; each blob is opened (and verified) when its turn comes. */
async function* layoutEntries(
  paths: StorePaths,
  blobs: readonly Descriptor[],
  documents: LayoutDocuments,
): AsyncGenerator<ReadyEntry> {
  yield archiveEntry(layoutHeader('blobs/', 0, 'directory'));
  yield archiveEntry(layoutHeader('blobs/sha256/', 0, 'directory'));
  for (const d of blobs)
    yield archiveEntry(
      layoutHeader(`blobs/sha256/${digestHex(d.digest)}`, d.size, 'file'),
      await openBlob(paths, d.digest, d.size),
    );
  for (const [name, text] of [
    ['index.json', documents.index],
    ['oci-layout', documents.layout],
  ] as const) {
    const bytes = Buffer.from(text, 'utf8');
    yield archiveEntry(layoutHeader(name, bytes.length, 'file'), bytes);
  }
}
