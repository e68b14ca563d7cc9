import type { Descriptor, Index, Platform } from '@kiln/oci';
import { RegistryError } from './registry-error.js';

/**
 * Picks the index entry for `platform`: os and architecture must match; when the wanted
 * platform names a variant it must match too, otherwise an entry without variant (or the first
 * one) wins. Attestation manifests (`unknown/unknown`) never match. NO_MATCHING_PLATFORM lists
 * what the index offers.
 */
export function selectPlatform(index: Index, platform: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture,
  );
  const chosen = platform.variant
    ? candidates.find((m) => m.platform?.variant === platform.variant)
    : (candidates.find((m) => !m.platform?.variant) ?? candidates[0]);
  if (chosen) return chosen;
  const offered = index.manifests
    .map((m) =>
      m.platform
        ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')
        : '?',
    )
    .join(', ');
  const wanted = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
  throw new RegistryError(
    'NO_MATCHING_PLATFORM',
    `${what} has no image for ${wanted} (it offers: ${offered || 'nothing'})`,
  );
}
