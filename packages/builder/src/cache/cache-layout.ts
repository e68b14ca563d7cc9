import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  digestHex,
  isDigest,
  sha256Digest,
  type Descriptor,
  type Digest,
} from '@kiln/oci';
import type { LayerStore } from '@kiln/layer-store';
import { BuilderError } from '../builder-error.js';

/** The ref name of the cache manifest in a local cache directory's index.json. */
const CACHE_REF_NAME = 'kiln-cache';
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * Writes the cache manifest `manifest` (stored in `store`) and every blob it names into the OCI
 * image layout directory `dest` (created if absent). Blobs already there with the right size are
 * kept; new ones are written to a temporary file, synced and renamed. index.json is replaced last
 * and lists only this manifest, so a reader never sees a manifest whose blobs are missing.
 */
export async function writeCacheLayout(
  store: LayerStore,
  manifest: Descriptor,
  blobs: readonly Descriptor[],
  dest: string,
): Promise<void> {
  const dir = join(dest, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  for (const blob of [...blobs, manifest]) {
    const path = join(dir, digestHex(blob.digest));
    if ((await stat(path).catch(() => undefined))?.size === blob.size) continue;
    const tmp = `${path}.tmp-${process.pid}`;
    await pipeline(await store.openBlob(blob.digest, blob.size), createWriteStream(tmp));
    const fh = await open(tmp, 'r');
    await fh.sync().finally(() => fh.close());
    await rename(tmp, path);
  }
  await writeFile(join(dest, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: [{ ...manifest, annotations: { [REF_NAME_ANNOTATION]: CACHE_REF_NAME } }],
  };
  const tmp = join(dest, `index.json.tmp-${process.pid}`);
  await writeFile(tmp, `${JSON.stringify(index)}\n`);
  await rename(tmp, join(dest, 'index.json'));
}

/**
 * Reads the cache manifest of an OCI layout directory written by {@link writeCacheLayout} (the
 * entry named `kiln-cache`, else the first) and returns its config document as text. Manifest
 * and config are size-capped and verified against their digests; layers are not read.
 */
export async function readCacheLayout(dir: string): Promise<{ readonly config: string }> {
  const index = JSON.parse((await readCapped(join(dir, 'index.json'))).toString('utf8')) as {
    manifests?: unknown;
  };
  const entries = Array.isArray(index.manifests) ? (index.manifests as Partial<Descriptor>[]) : [];
  const entry = entries.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === CACHE_REF_NAME) ?? entries[0];
  const manifestDigest = entry?.digest;
  if (!isDigest(manifestDigest))
    throw new BuilderError('INVALID_CACHE_SPEC', `${dir}: index.json lists no manifest`);
  const manifest = JSON.parse((await readBlob(dir, manifestDigest)).toString('utf8')) as {
    config?: Partial<Descriptor>;
  };
  const configDigest = manifest.config?.digest;
  if (!isDigest(configDigest))
    throw new BuilderError('INVALID_CACHE_SPEC', `${dir}: the cache manifest has no config`);
  return { config: (await readBlob(dir, configDigest)).toString('utf8') };
}

async function readBlob(dir: string, digest: Digest): Promise<Buffer> {
  const text = await readCapped(join(dir, 'blobs', 'sha256', digestHex(digest)));
  if (sha256Digest(text) !== digest)
    throw new BuilderError('INVALID_CACHE_SPEC', `${dir}: blob ${digest} does not match its digest`);
  return text;
}

async function readCapped(path: string): Promise<Buffer> {
  const size = (await stat(path)).size;
  if (size > MAX_DOCUMENT_BYTES) throw new BuilderError('INVALID_CACHE_SPEC', `${path} is too large`);
  return readFile(path);
}
