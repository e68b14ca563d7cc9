export { LayerStore } from './layer-store.js';
export { LayerStoreError, type LayerStoreErrorCode } from './layer-store-error.js';
export type { Layer, WriteLayerOptions } from './write-layer.js';
export type { Image } from './images.js';
export type { TagEntry } from './tags.js';
export type { VerifyReport } from './verify-store.js';
export type { ExportOciLayoutOptions } from './export-oci-layout.js';
export { layerChangesFromDirectory } from './layer-changes-from-directory.js';
export type { GarbageReport } from './collect-garbage.js';
