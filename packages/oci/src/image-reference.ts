import { OciError } from './oci-error.js';

/** A local image name: `name[:tag]` (registry host and path allowed), tag defaulting to "latest". */
export interface ImageName {
  readonly name: string;
  readonly tag: string;
}

const NAME_RE =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Parses `name[:tag]` as `docker tag` does; throws `OciError('INVALID_REFERENCE')` with the reason. */
export function parseImageName(ref: string): ImageName {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : 'latest';
  if (!NAME_RE.test(name)) {
    throw new OciError(
      'INVALID_REFERENCE',
      `invalid reference format: "${ref}"`,
      'names are lowercase: letters, digits, ".", "_", "-" and "/"',
    );
  }
  if (!TAG_RE.test(tag)) throw new OciError('INVALID_REFERENCE', `invalid tag in "${ref}"`);
  return { name, tag };
}

export function formatImageName(n: ImageName): string {
  return `${n.name}:${n.tag}`;
}
