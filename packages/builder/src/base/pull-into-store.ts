import { formatImageName, parseImageName } from '@kiln/oci';
import type { Image, LayerStore } from '@kiln/layer-store';
import { parseReference, pullImage } from '@kiln/registry';
import { storeBlobOrigins } from '../store/store-blob-origins.js';
import { storePlainHttpMemo } from '../store/store-plain-http-memo.js';

/** How to reach registries: plain-HTTP hosts besides loopback ones, extra CAs, and cancellation. */
export interface RegistryAccess {
  readonly insecure?: readonly string[];
  /** CA files trusted for HTTPS besides the system's and certs.d (`--registry-ca`). */
  readonly caFiles?: readonly string[];
  readonly signal?: AbortSignal;
  /** `--pull`: ask the registry for a tag even when the local store has it (digests stay local). */
  readonly pull?: boolean;
}

/**
 * Pulls `ref` (as the user wrote it) from its registry into the store, verified blob by blob,
 * and tags it under the normalised local name (`localhost:5000/busybox:latest`, `busybox:latest`)
 * unless the reference names a digest. Returns the stored image.
 */
export async function pullIntoStore(
  store: LayerStore,
  ref: string,
  access: RegistryAccess = {},
): Promise<Image> {
  const remote = parseReference(ref);
  const pulled = await pullImage(
    remote,
    {
      stat: (d) => store.statBlob(d),
      put: async (stream, d) => {
        await store.putBlob(stream, d);
      },
    },
    {
      signal: access.signal ?? new AbortController().signal,
      insecure: access.insecure,
      caFiles: access.caFiles,
      // Remembered so that pushing an image built on this base mounts its layers.
      origins: storeBlobOrigins(store),
      plainHttp: storePlainHttpMemo(store),
    },
  );
  if (!remote.digest) await store.tag(formatImageName(parseImageName(ref)), pulled.manifestDescriptor);
  return store.readImage(pulled.manifestDescriptor.digest);
}
