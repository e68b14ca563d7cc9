import type { Descriptor } from '@kiln/oci';
import type { LayerStore } from '@kiln/layer-store';
import type { ImageSource } from '@kiln/registry';

/**
 * What a push reads of an image in the store: blobs as verified streams, the manifest in one
 * verified read (no stream on the push's critical path before its first request).
 */
export function storeImageSource(store: LayerStore, manifest: Descriptor): ImageSource {
  return {
    manifest,
    open: (d) => store.openBlob(d),
    read: (d, maxBytes) => store.readDocument(d, maxBytes),
  };
}
