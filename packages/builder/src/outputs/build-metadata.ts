import type { BuildResult } from '../build.js';

/**
 * The `--metadata-file` document of a build, with buildx's keys: `containerimage.digest` (the
 * manifest digest), `containerimage.config.digest` (the config digest, which is also the image
 * id `--iidfile` holds), `containerimage.descriptor` (the manifest descriptor) and, when the
 * build was tagged, `image.name` (the tags, comma-joined). Pure; keys in a fixed order.
 */
export function buildMetadata(result: BuildResult): Record<string, unknown> {
  const m = result.image.manifestDescriptor;
  return {
    'containerimage.config.digest': result.image.manifest.config.digest,
    'containerimage.descriptor': { mediaType: m.mediaType, digest: m.digest, size: m.size },
    'containerimage.digest': m.digest,
    ...(result.tags.length > 0 ? { 'image.name': result.tags.join(',') } : {}),
  };
}
