import { isDigest, type Digest } from '@kiln/oci';
import { RegistryError } from './registry-error.js';

/** A fully qualified image reference, as a registry client needs it. */
export interface RegistryReference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  readonly registry: string;
  /** Repository path, `library/<name>` for official Docker Hub images. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Normalises a reference as docker does: the first path component is a registry when it has a
 * "." or ":" or is "localhost"; otherwise the registry is docker.io and single names get
 * "library/". Without tag or digest the tag is "latest".
 */
export function parseReference(ref: string): RegistryReference {
  const bad = (why: string): RegistryError =>
    new RegistryError('INVALID_REFERENCE', `invalid reference "${ref}": ${why}`);
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad('the digest must be sha256:<64 hex>');
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const hasRegistry =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'docker.io';
  const path = hasRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || !path.every((p) => COMPONENT.test(p)))
    throw bad('repository names are lowercase letters, digits and separators');
  const repository = registry === 'docker.io' && path.length === 1 ? `library/${path[0]}` : path.join('/');
  return { registry, repository, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** The canonical string form: `registry/repository[:tag][@digest]`. */
export function formatReference(r: RegistryReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
