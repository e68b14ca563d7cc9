import { createHash } from 'node:crypto';
import {
  canonicalJson,
  digestHex,
  MediaType,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type Digest,
} from '@kiln/oci';
import type { Image } from './images.js';
import { layoutHeader } from './layout-header.js';
import { LayerStoreError } from './layer-store-error.js';
import { openBlob } from './open-blob.js';
import type { StorePaths } from './store-paths.js';
import { archiveEntry, writeTarFile } from './pack-tar.js';
import type { ReadyEntry } from './read-ahead.js';

/** Annotation containerd and Docker (25+) put on index.json entries: the full image name. */
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** One image to archive and the names ("name:tag") it is saved under. */
export interface ArchiveImage {
  readonly image: Image;
  readonly names: readonly string[];
}

export interface WriteImageArchiveOptions {
  /**
   * `oci`: an OCI image layout (oci-layout, index.json, blobs/). `docker`: the same layout plus the
   * `manifest.json` that `docker load` and `podman load` read (Config, RepoTags, Layers), as
   * Docker 25+ writes it.
   */
  readonly format: 'oci' | 'docker';
  /**
   * `docker` rewrites each manifest with Docker v2 schema 2 media types (the config and layer
   * bytes are unchanged, so the manifest digest differs); only gzip layers can be described so,
   * anything else is INCOMPATIBLE_MEDIA_TYPE. Default `oci`.
   */
  readonly mediaTypes?: 'oci' | 'docker';
}

/** A blob to write: from the store (verified while copied) or bytes made for this archive. */
type ArchiveBlob = { readonly descriptor: Descriptor } | { readonly digest: Digest; readonly bytes: Buffer };

/**
 * Writes `images` as one uncompressed tar at `dest`: deterministic (sorted blobs, fixed headers),
 * streamed blob by blob (never a whole layer in memory, every store blob verified as it is read),
 * and atomic (a temp file beside `dest`, fsync, rename; nothing appears at `dest` on failure).
 */
export async function writeImageArchive(
  paths: StorePaths,
  images: readonly ArchiveImage[],
  dest: string,
  opts: WriteImageArchiveOptions,
): Promise<void> {
  const blobs = new Map<string, ArchiveBlob>();
  const indexEntries: Descriptor[] = [];
  const dockerManifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const { image, names } of images) {
    const manifest = manifestFor(image, opts.mediaTypes ?? 'oci');
    if ('bytes' in manifest) blobs.set(digestHex(manifest.digest), manifest);
    else blobs.set(digestHex(manifest.descriptor.digest), manifest);
    const m = 'bytes' in manifest ? manifestDescriptor(manifest) : manifest.descriptor;
    for (const d of [image.manifest.config, ...image.manifest.layers])
      blobs.set(digestHex(d.digest), { descriptor: d });
    for (const name of names.length > 0 ? names : [undefined]) {
      indexEntries.push({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        ...(name === undefined
          ? {}
          : { annotations: { [CONTAINERD_NAME_ANNOTATION]: name, [REF_NAME_ANNOTATION]: name } }),
      });
    }
    dockerManifest.push({
      Config: blobName(image.manifest.config.digest),
      RepoTags: [...names],
      Layers: image.manifest.layers.map((l) => blobName(l.digest)),
    });
  }
  const documents: Array<[string, string]> = [
    [
      'index.json',
      canonicalJson({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: indexEntries }),
    ],
  ];
  if (opts.format === 'docker') documents.push(['manifest.json', JSON.stringify(dockerManifest)]);
  documents.push(['oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' })]);
  const sorted = [...blobs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, b]) => b);
  await writeArchive(paths, sorted, documents, dest);
}

function blobName(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

function manifestDescriptor(blob: { digest: Digest; bytes: Buffer }): Descriptor {
  return { mediaType: MediaType.DockerManifest, digest: blob.digest, size: blob.bytes.length };
}

function manifestFor(image: Image, mediaTypes: 'oci' | 'docker'): ArchiveBlob {
  if (mediaTypes === 'oci') return { descriptor: image.manifestDescriptor };
  const layers = image.manifest.layers.map((l) => {
    if (l.mediaType !== MediaType.LayerTarGzip && l.mediaType !== MediaType.DockerLayerGzip) {
      throw new LayerStoreError(
        'INCOMPATIBLE_MEDIA_TYPE',
        `layer ${l.digest} is ${l.mediaType}; Docker media types need gzip layers`,
        'save with OCI media types, or rebuild with gzip compression',
      );
    }
    return { mediaType: MediaType.DockerLayerGzip, digest: l.digest, size: l.size };
  });
  const { digest, size } = image.manifest.config;
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, digest, size },
    layers,
  };
  const bytes = Buffer.from(canonicalJson(manifest), 'utf8');
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest, bytes };
}

async function writeArchive(
  paths: StorePaths,
  blobs: readonly ArchiveBlob[],
  documents: ReadonlyArray<readonly [string, string]>,
  dest: string,
): Promise<void> {
  await writeTarFile(dest, archiveEntries(paths, blobs, documents));
}

/** The archive's members in order; each stored blob is opened (and verified) when its turn comes. */
async function* archiveEntries(
  paths: StorePaths,
  blobs: readonly ArchiveBlob[],
  documents: ReadonlyArray<readonly [string, string]>,
): AsyncGenerator<ReadyEntry> {
  yield archiveEntry(layoutHeader('blobs/', 0, 'directory'));
  yield archiveEntry(layoutHeader('blobs/sha256/', 0, 'directory'));
  for (const blob of blobs) {
    if ('bytes' in blob) {
      yield archiveEntry(layoutHeader(blobName(blob.digest), blob.bytes.length, 'file'), blob.bytes);
    } else {
      const d = blob.descriptor;
      yield archiveEntry(
        layoutHeader(blobName(d.digest), d.size, 'file'),
        await openBlob(paths, d.digest, d.size),
      );
    }
  }
  for (const [name, text] of documents) {
    const bytes = Buffer.from(text, 'utf8');
    yield archiveEntry(layoutHeader(name, bytes.length, 'file'), bytes);
  }
}
