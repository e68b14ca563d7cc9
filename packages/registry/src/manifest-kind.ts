import { MediaType } from '@kiln/oci';
import { RegistryError } from './registry-error.js';

/** The Accept header for manifests: OCI and Docker, single-platform and multi-platform. */
export const MANIFEST_ACCEPT = [
  MediaType.ImageIndex,
  MediaType.ImageManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

/**
 * Whether a fetched document is an index (OCI index or Docker manifest list) or a manifest,
 * from its media type (the document's own field first, then Content-Type) or, when neither is
 * given, its shape. Docker schema 1 and unknown types are UNSUPPORTED_MEDIA_TYPE.
 */
export function manifestKind(
  doc: Record<string, unknown>,
  contentType: string | undefined,
): { kind: 'index' | 'manifest'; mediaType: string } {
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : contentType?.split(';')[0]?.trim();
  switch (declared) {
    case MediaType.ImageIndex:
    case MediaType.DockerManifestList:
      return { kind: 'index', mediaType: declared };
    case MediaType.ImageManifest:
    case MediaType.DockerManifest:
      return { kind: 'manifest', mediaType: declared };
  }
  if (declared === undefined || declared === '' || declared === 'application/json') {
    if (Array.isArray(doc.manifests)) return { kind: 'index', mediaType: MediaType.ImageIndex };
    if (Array.isArray(doc.layers)) return { kind: 'manifest', mediaType: MediaType.ImageManifest };
  }
  throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `unsupported manifest media type "${declared ?? ''}"`, {
    hint: declared?.includes('v1') ? 'Docker schema 1 images are not supported' : undefined,
  });
}
