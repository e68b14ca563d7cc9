import { canonicalJson, REF_NAME_ANNOTATION, type Descriptor } from '@kiln/oci';
import { readIndexFile, writeIndexFile } from './index-file.js';
import { LayerStoreError } from './layer-store-error.js';
import { statBlob } from './open-blob.js';
import type { StorePaths } from './store-paths.js';
import { normaliseTagName } from './tag-name.js';
import { withFileLock } from './with-file-lock.js';

export interface TagEntry {
  /** "name:tag" */
  readonly name: string;
  readonly descriptor: Descriptor;
}

/**
 * Points `name` at a stored manifest: under the store lock, reads index.json, replaces any entry
 * with the same ref name, writes it back atomically (entries sorted by name). BLOB_NOT_FOUND if
 * the manifest is not stored. When the tag already points there with the same descriptor (a
 * rebuild that changed nothing), index.json is left as it is, without taking the lock.
 */
export async function tagManifest(paths: StorePaths, name: string, manifest: Descriptor): Promise<void> {
  const ref = normaliseTagName(name);
  if ((await statBlob(paths, manifest.digest)) === undefined) {
    throw new LayerStoreError(
      'BLOB_NOT_FOUND',
      `cannot tag ${ref}: manifest ${manifest.digest} is not stored`,
    );
  }
  const entry: Descriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    annotations: { ...manifest.annotations, [REF_NAME_ANNOTATION]: ref },
    ...(manifest.platform ? { platform: manifest.platform } : {}),
  };
  // Unlocked read: a writer racing this one may change the tag either way, as with the lock.
  const current = (await readIndexFile(paths)).manifests.find((m) => refOf(m) === ref);
  if (current !== undefined && canonicalJson(current) === canonicalJson(entry)) return;
  await withFileLock(
    paths.lock,
    async () => {
      const index = await readIndexFile(paths);
      const others = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== ref);
      const manifests = [...others, entry].sort((a, b) => compareStrings(refOf(a), refOf(b)));
      await writeIndexFile(paths, { ...index, manifests });
    },
    { tmpDir: paths.tmp },
  );
}

/** Every named entry of index.json. */
export async function listTags(paths: StorePaths): Promise<readonly TagEntry[]> {
  const index = await readIndexFile(paths);
  return index.manifests.flatMap((descriptor) => {
    const name = descriptor.annotations?.[REF_NAME_ANNOTATION];
    return name === undefined ? [] : [{ name, descriptor }];
  });
}

/** The descriptor a tag points at, or undefined. */
export async function resolveTag(paths: StorePaths, name: string): Promise<Descriptor | undefined> {
  const ref = normaliseTagName(name);
  return (await listTags(paths)).find((t) => t.name === ref)?.descriptor;
}

function refOf(d: Descriptor): string {
  return d.annotations?.[REF_NAME_ANNOTATION] ?? '';
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
