import { BuilderError } from '../builder-error.js';

/** Which steps a cache export holds: those of the final image (`min`) or every step built (`max`). */
export type CacheMode = 'min' | 'max';

/** `--cache-to`: where this build's cache records (and the layers they name) are exported. */
export type CacheExportSpec =
  | {
      readonly type: 'registry';
      readonly ref: string;
      readonly mode: CacheMode;
      /** `mounts=true`: also the contents of the `RUN --mount=type=cache` directories. */
      readonly mounts: boolean;
    }
  /** An OCI image layout directory (created if absent; blobs accumulate, index.json is replaced). */
  | { readonly type: 'local'; readonly dest: string; readonly mode: CacheMode; readonly mounts: boolean }
  /** The final image's own records, in its manifest (always `min`: the layers are the image's). */
  | { readonly type: 'inline' };

/** `--cache-from`: where earlier builds' records are imported from. */
export type CacheImportSpec =
  { readonly type: 'registry'; readonly ref: string } | { readonly type: 'local'; readonly src: string };

const EXPORT_KEYS: Readonly<Record<CacheExportSpec['type'], readonly string[]>> = {
  registry: ['type', 'ref', 'mode', 'mounts'],
  local: ['type', 'dest', 'mode', 'mounts'],
  inline: ['type'],
};

const IMPORT_KEYS: Readonly<Record<CacheImportSpec['type'], readonly string[]>> = {
  registry: ['type', 'ref'],
  local: ['type', 'src'],
};

/**
 * Parses one `--cache-to` value as buildx does: `type=registry,ref=REF[,mode=min|max]`,
 * `type=local,dest=DIR[,mode=min|max]` or `type=inline` (mode defaults to `min`), plus kiln's
 * `mounts=true|false` (default false) for registry and local. A bare `REF`
 * means `type=registry,ref=REF`. INVALID_CACHE_SPEC for anything else.
 */
export function parseCacheExportSpec(text: string): CacheExportSpec {
  const fields = specFields(text, '--cache-to');
  const type = fields.get('type');
  if (type !== 'registry' && type !== 'local' && type !== 'inline')
    throw new BuilderError('INVALID_CACHE_SPEC', `unsupported --cache-to type "${type ?? ''}"`, {
      hint: 'supported: type=registry,ref=REF  type=local,dest=DIR  type=inline',
    });
  checkKeys(fields, EXPORT_KEYS[type], `--cache-to type=${type}`);
  if (type === 'inline') return { type };
  const mode = fields.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max')
    throw new BuilderError('INVALID_CACHE_SPEC', `--cache-to mode=${mode}: expected min or max`);
  const mounts = fields.get('mounts') ?? 'false';
  if (mounts !== 'true' && mounts !== 'false')
    throw new BuilderError('INVALID_CACHE_SPEC', `--cache-to mounts=${mounts}: expected true or false`);
  return type === 'registry'
    ? { type, ref: required(fields, 'ref', type), mode, mounts: mounts === 'true' }
    : { type, dest: required(fields, 'dest', type), mode, mounts: mounts === 'true' };
}

/**
 * Parses one `--cache-from` value: `type=registry,ref=REF` or `type=local,src=DIR`; a bare `REF`
 * means `type=registry,ref=REF`. INVALID_CACHE_SPEC for anything else.
 */
export function parseCacheImportSpec(text: string): CacheImportSpec {
  const fields = specFields(text, '--cache-from');
  const type = fields.get('type');
  if (type !== 'registry' && type !== 'local')
    throw new BuilderError('INVALID_CACHE_SPEC', `unsupported --cache-from type "${type ?? ''}"`, {
      hint: 'supported: type=registry,ref=REF  type=local,src=DIR',
    });
  checkKeys(fields, IMPORT_KEYS[type], `--cache-from type=${type}`);
  return type === 'registry'
    ? { type, ref: required(fields, 'ref', type) }
    : { type, src: required(fields, 'src', type) };
}

function specFields(text: string, flag: string): Map<string, string> {
  if (!text.includes('='))
    return new Map([
      ['type', 'registry'],
      ['ref', text.trim()],
    ]);
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new BuilderError('INVALID_CACHE_SPEC', `invalid ${flag} field "${part}": expected key=value`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return fields;
}

function checkKeys(fields: ReadonlyMap<string, string>, allowed: readonly string[], what: string): void {
  for (const key of fields.keys())
    if (!allowed.includes(key)) throw new BuilderError('INVALID_CACHE_SPEC', `${what} has no field "${key}"`);
}

function required(fields: ReadonlyMap<string, string>, key: string, type: string): string {
  const value = fields.get(key);
  if (!value) throw new BuilderError('INVALID_CACHE_SPEC', `cache type=${type} needs ${key}=…`);
  return value;
}
