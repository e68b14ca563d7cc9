import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import {
  MediaType,
  parseDigest,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type Digest,
  type Manifest,
} from '@kiln/oci';
import { readImage, type Image } from './images.js';
import { LayerStoreError } from './layer-store-error.js';
import { openBlob, statBlob } from './open-blob.js';
import { isRecord, parseDescriptor, requireDocument } from './parse-descriptor.js';
import { parseImageConfig } from './parse-image-config.js';
import { parseManifest } from './parse-manifest.js';
import { putBlob } from './put-blob.js';
import { putJson } from './put-json.js';
import { readJson } from './read-json.js';
import { isGzipFile } from './is-gzip-file.js';
import { blobPath, type StorePaths } from './store-paths.js';
import { tagManifest } from './tags.js';

/** One image found in an archive, stored and tagged under `names`. */
export interface LoadedImage {
  readonly image: Image;
  readonly names: readonly string[];
}

const DOCUMENTS = new Set(['manifest.json', 'index.json', 'oci-layout', 'repositories']);
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
const BLOB_PATH = /^blobs\/sha256\/([0-9a-f]{64})$/;
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** What the single pass over the archive found. */
interface Scan {
  readonly documents: Map<string, Buffer>;
  /** Archive path → stored blob (every regular file that is not a document). */
  readonly files: Map<string, { digest: Digest; size: number }>;
  /** Archive path → the archive path a symlink in it points at (legacy archives dedupe layers so). */
  readonly links: Map<string, string>;
}

/**
 * Loads a `docker save` archive (manifest.json with Config/RepoTags/Layers; legacy `<id>/layer.tar`
 * and Docker 25+ `blobs/sha256/` forms) or an OCI archive (oci-layout + index.json), plain or
 * gzipped, into the store, and tags what it names. One streaming pass: each file goes straight
 * into the blob store (never into memory; only the small JSON documents are read, capped at
 * 4 MiB). Everything is verified: `blobs/sha256/<hex>` must hash to `<hex>`, manifests and configs
 * to their descriptors, and every docker-archive layer (decompressed if gzipped) to its config's
 * diffID; a mismatch is BLOB_DIGEST_MISMATCH and tags nothing. An archive that is neither format
 * is INVALID_ARCHIVE. Files the archive holds but no image references stay as unreferenced blobs
 * for the next garbage collection.
 */
export async function loadImageArchive(paths: StorePaths, file: string): Promise<LoadedImage[]> {
  const scan = await scanArchive(paths, file);
  const manifestJson = scan.documents.get('manifest.json');
  const indexJson = scan.documents.get('index.json');
  let loaded: LoadedImage[];
  if (manifestJson !== undefined) loaded = await loadDockerImages(paths, scan, parseJson(manifestJson));
  else if (indexJson !== undefined && scan.documents.has('oci-layout'))
    loaded = await loadOciImages(paths, parseJson(indexJson));
  else
    throw new LayerStoreError(
      'INVALID_ARCHIVE',
      `${file} has neither manifest.json nor oci-layout + index.json`,
      'expected the output of `docker save`, `kiln save` or an OCI image layout tar',
    );
  for (const { image, names } of loaded)
    for (const name of names) await tagManifest(paths, name, image.manifestDescriptor);
  return loaded;
}

async function scanArchive(paths: StorePaths, file: string): Promise<Scan> {
  const scan: Scan = { documents: new Map(), files: new Map(), links: new Map() };
  const extract = tar.extract();
  const source = createReadStream(file);
  const gzip = await isGzipFile(file);
  const feeding = (gzip ? pipeline(source, createGunzip(), extract) : pipeline(source, extract)).catch(
    (err: unknown) => err,
  );
  for await (const entry of extract) {
    const h = entry.header;
    const name = posix.normalize(h.name).replace(/^(\.\/)+|\/+$/g, '');
    if (h.type === 'symlink') {
      scan.links.set(name, posix.normalize(posix.join(posix.dirname(name), h.linkname ?? '')));
      entry.resume();
    } else if (h.type !== 'file' && h.type !== 'contiguous-file') {
      entry.resume();
    } else if (DOCUMENTS.has(name)) {
      scan.documents.set(name, await readCapped(entry as AsyncIterable<Buffer>, name));
    } else {
      const hex = BLOB_PATH.exec(name)?.[1];
      scan.files.set(
        name,
        await putBlob(paths, entry as unknown as Readable, hex ? digestOf(hex) : undefined),
      );
    }
  }
  const failure = await feeding;
  if (failure !== undefined) throw failure;
  return scan;
}

async function loadDockerImages(paths: StorePaths, scan: Scan, doc: unknown): Promise<LoadedImage[]> {
  requireDocument(Array.isArray(doc), 'manifest.json: not an array');
  const loaded: LoadedImage[] = [];
  for (const [i, item] of doc.entries()) {
    requireDocument(isRecord(item), `manifest.json entry ${i}`);
    const { Config, RepoTags, Layers } = item;
    requireDocument(typeof Config === 'string', `manifest.json entry ${i}: Config`);
    requireDocument(
      Array.isArray(Layers) && Layers.every((l) => typeof l === 'string'),
      `manifest.json entry ${i}: Layers`,
    );
    const names = Array.isArray(RepoTags) ? RepoTags.filter((t): t is string => typeof t === 'string') : [];
    const config = lookup(scan, Config);
    const hex = /^([0-9a-f]{64})\.json$/.exec(Config)?.[1];
    if (hex !== undefined && config.digest !== digestOf(hex)) {
      throw new LayerStoreError('BLOB_DIGEST_MISMATCH', `config ${Config} hashes to ${config.digest}`);
    }
    const parsed = parseImageConfig(await readJson(paths, config.digest, undefined, config.size));
    const diffIds = parsed.rootfs.diff_ids;
    requireDocument(diffIds.length === Layers.length, `manifest.json entry ${i}: Layers and diff_ids differ`);
    const layers: Descriptor[] = [];
    for (const [n, path] of (Layers as string[]).entries()) {
      const blob = lookup(scan, path);
      const diffId = diffIds[n] as Digest;
      const gzipped = await isGzipFile(blobPath(paths, blob.digest));
      const uncompressed = gzipped ? await gunzipDigest(paths, blob.digest) : blob.digest;
      if (uncompressed !== diffId) {
        throw new LayerStoreError(
          'BLOB_DIGEST_MISMATCH',
          `layer ${path} has content ${uncompressed}, but the config says ${diffId}`,
        );
      }
      const mediaType = gzipped ? MediaType.LayerTarGzip : MediaType.LayerTar;
      layers.push({ mediaType, digest: blob.digest, size: blob.size });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      config: { mediaType: MediaType.ImageConfig, digest: config.digest, size: config.size },
      layers,
    };
    const descriptor = await putJson(paths, manifest, MediaType.ImageManifest);
    loaded.push({ image: await readImage(paths, descriptor.digest), names });
  }
  return loaded;
}

async function loadOciImages(paths: StorePaths, doc: unknown): Promise<LoadedImage[]> {
  requireDocument(isRecord(doc) && Array.isArray(doc.manifests), 'index.json');
  const loaded: LoadedImage[] = [];
  for (const [i, value] of doc.manifests.entries()) {
    const entry = parseDescriptor(value, `index.json manifest ${i}`);
    if (entry.mediaType !== MediaType.ImageManifest && entry.mediaType !== MediaType.DockerManifest) {
      throw new LayerStoreError(
        'INVALID_ARCHIVE',
        `index.json entry ${entry.digest} is ${entry.mediaType}; only image manifests can be loaded`,
      );
    }
    const manifest = parseManifest(await readJson(paths, entry.digest, undefined, entry.size));
    for (const d of [manifest.config, ...manifest.layers]) {
      if ((await statBlob(paths, d.digest)) !== d.size) {
        throw new LayerStoreError('BLOB_NOT_FOUND', `the archive lacks blob ${d.digest} (${d.size} bytes)`);
      }
    }
    parseImageConfig(await readJson(paths, manifest.config.digest, undefined, manifest.config.size));
    const name = entry.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? entry.annotations?.[REF_NAME_ANNOTATION];
    const image = await readImage(paths, entry.digest);
    loaded.push({
      image: { ...image, manifestDescriptor: { ...image.manifestDescriptor, mediaType: entry.mediaType } },
      names: name === undefined ? [] : [name],
    });
  }
  return loaded;
}

function lookup(scan: Scan, path: string): { digest: Digest; size: number } {
  let name = posix.normalize(path).replace(/^(\.\/)+/, '');
  for (let hops = 0; hops < 16 && scan.links.has(name); hops++) name = scan.links.get(name) ?? name;
  const found = scan.files.get(name);
  if (found === undefined) throw new LayerStoreError('INVALID_ARCHIVE', `the archive has no file "${path}"`);
  return found;
}

function digestOf(hex: string): Digest {
  return parseDigest(`sha256:${hex}`);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new LayerStoreError('INVALID_DOCUMENT', 'archive document is not valid JSON', undefined, {
      cause: err,
    });
  }
}

async function readCapped(entry: AsyncIterable<Buffer>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of entry) {
    total += chunk.length;
    if (total > MAX_DOCUMENT_BYTES)
      throw new LayerStoreError('DOCUMENT_TOO_LARGE', `${name} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The sha256 of a stored gzip blob's decompressed content, streamed. */
async function gunzipDigest(paths: StorePaths, digest: Digest): Promise<Digest> {
  const hash = createHash('sha256');
  await pipeline(
    await openBlob(paths, digest),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback();
      },
    }),
  );
  return digestOf(hash.digest('hex'));
}
