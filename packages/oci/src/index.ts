export { type Digest, parseDigest, isDigest, sha256Digest, digestHex } from './digest.js';
export { OciError, type OciErrorCode } from './oci-error.js';
export { MediaType, REF_NAME_ANNOTATION } from './media-types.js';
export type {
  Descriptor,
  Platform,
  Manifest,
  Index,
  ContainerConfig,
  HealthConfig,
  HistoryEntry,
  ImageConfig,
} from './documents.js';
export type { FileType, FileHeader, FsChange } from './fs-change.js';
export type { LayerFile } from './layer-file.js';
export { formatPlatform, hostPlatform, parsePlatform } from './platform.js';
export { canonicalJson } from './canonical-json.js';
export { type ImageName, parseImageName, formatImageName } from './image-reference.js';
export { fileTypeOf, deviceNumbers, type StatTypeTests } from './file-type-of.js';
export { TarXattrScanner, decodePaxRecords, type TarXattrs } from './tar-xattr-scanner.js';
