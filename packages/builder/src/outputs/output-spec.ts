import { BuilderError } from '../builder-error.js';

/**
 * Where a build's result goes besides the local store. `dest: '-'` means the caller's stdout
 * stream (given to `build()` as `io.stdout`); it is allowed for the single-file outputs only
 * (`tar`, `docker`, and `oci` with `tar: true`).
 */
export type OutputSpec =
  | {
      /** An OCI image layout, as one tar (default) or a directory. */
      readonly type: 'oci';
      readonly dest: string;
      readonly tar: boolean;
      /** The ref name annotated in index.json (default: the first tag's tag, else `latest`). */
      readonly name?: string;
      /** Layer compression of the exported image (default: the store's, gzip); zstd is OCI-only. */
      readonly compression?: 'gzip' | 'zstd' | 'uncompressed';
    }
  | {
      /** A docker archive (`docker load`, `skopeo … docker-archive:`), plus an OCI layout inside. */
      readonly type: 'docker';
      readonly dest: string;
      /** Names in the archive's RepoTags, comma-separated in the spec (default: the build's tags). */
      readonly names?: readonly string[];
    }
  | {
      /** The final stage's root filesystem written into the directory `dest`. */
      readonly type: 'local';
      readonly dest: string;
    }
  | {
      /** The final stage's root filesystem as one plain tar. */
      readonly type: 'tar';
      readonly dest: string;
    }
  | {
      /** The image pushed to a registry (`--push`), under `names` or else the build's tags. */
      readonly type: 'registry';
      readonly names?: readonly string[];
      readonly dest?: undefined;
    };

const KEYS: Readonly<Record<OutputSpec['type'], readonly string[]>> = {
  oci: ['type', 'dest', 'tar', 'name', 'compression'],
  docker: ['type', 'dest', 'name', 'compression'],
  local: ['type', 'dest'],
  tar: ['type', 'dest'],
  registry: ['type', 'name'],
};

/**
 * Parses one `--output` value as docker buildx does: `type=oci|docker|local|tar,dest=PATH` plus
 * `tar=true|false`, `name=REF` and `compression=gzip|zstd|uncompressed` for oci (gzip only for
 * docker, whose v2s2 layers cannot be zstd), `name=REF[,REF…]`-style names for docker (a bare word
 * after `name=` continues the list, as in buildx), and `type=registry[,name=REF[,REF…]]` (or
 * `type=image,push=true`) to push. A bare `PATH` means `type=local,dest=PATH`, and `-` means
 * `type=tar,dest=-`. INVALID_OUTPUT for anything else.
 */
export function parseOutputSpec(text: string): OutputSpec {
  if (text === '-') return { type: 'tar', dest: '-' };
  if (!text.includes('=')) return { type: 'local', dest: text };
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (last === 'name') {
        fields.set('name', `${fields.get('name') ?? ''},${part.trim()}`);
        continue;
      }
      throw new BuilderError('INVALID_OUTPUT', `invalid --output field "${part}": expected key=value`);
    }
    last = part.slice(0, eq).trim();
    fields.set(last, part.slice(eq + 1).trim());
  }
  // buildx's `type=image,push=true` is `type=registry`; an image output without push is the
  // local store, which every build writes anyway.
  if (fields.get('type') === 'image') {
    const push = fields.get('push') ?? 'false';
    if (push !== 'true' && push !== 'false')
      throw new BuilderError('INVALID_OUTPUT', `push=${push}: expected true or false`);
    fields.delete('push');
    fields.set('type', push === 'true' ? 'registry' : 'image');
  }
  const type = fields.get('type');
  if (type !== 'oci' && type !== 'docker' && type !== 'local' && type !== 'tar' && type !== 'registry') {
    throw new BuilderError('INVALID_OUTPUT', `unsupported output type "${type ?? ''}"`, {
      hint: 'supported: type=oci, type=docker, type=local, type=tar, type=registry (type=image,push=true)',
    });
  }
  for (const key of fields.keys()) {
    if (!KEYS[type].includes(key))
      throw new BuilderError('INVALID_OUTPUT', `output type=${type} has no field "${key}"`);
  }
  if (type === 'registry') {
    const names = (fields.get('name') ?? '').split(',').filter((n) => n !== '');
    return { type, ...(names.length > 0 ? { names } : {}) };
  }
  const compression = parseCompression(fields.get('compression'));
  // Docker archives hold Docker v2s2 layers, which are gzip only: zstd exists only in OCI manifests.
  if (type === 'docker' && compression !== undefined && compression !== 'gzip')
    throw new BuilderError('INVALID_OUTPUT', `type=docker cannot hold ${compression} layers`, {
      hint: 'use type=oci for zstd or uncompressed layers',
    });
  const dest = fields.get('dest');
  if (!dest) throw new BuilderError('INVALID_OUTPUT', `output type=${type} needs dest=PATH`);
  switch (type) {
    case 'oci': {
      const tar = fields.get('tar') ?? 'true';
      if (tar !== 'true' && tar !== 'false')
        throw new BuilderError('INVALID_OUTPUT', `tar=${tar}: expected true or false`);
      if (dest === '-' && tar === 'false')
        throw new BuilderError('INVALID_OUTPUT', 'dest=- needs tar=true: a directory cannot go to stdout');
      const name = fields.get('name');
      return {
        type,
        dest,
        tar: tar === 'true',
        ...(name ? { name } : {}),
        ...(compression !== undefined ? { compression } : {}),
      };
    }
    case 'docker': {
      const names = (fields.get('name') ?? '').split(',').filter((n) => n !== '');
      return { type, dest, ...(names.length > 0 ? { names } : {}) };
    }
    case 'local':
      if (dest === '-')
        throw new BuilderError('INVALID_OUTPUT', 'type=local needs a directory', {
          hint: 'use type=tar,dest=- to stream the root filesystem to stdout',
        });
      return { type, dest };
    case 'tar':
      return { type, dest };
  }
}

function parseCompression(text: string | undefined): 'gzip' | 'zstd' | 'uncompressed' | undefined {
  if (text === undefined || text === 'gzip' || text === 'zstd' || text === 'uncompressed') return text;
  throw new BuilderError('INVALID_OUTPUT', `compression=${text}: expected gzip, zstd or uncompressed`);
}
