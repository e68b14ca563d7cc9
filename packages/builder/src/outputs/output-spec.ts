import { BuilderError } from '../builder-error.js';

/** Where a build's image goes besides the local store. */
export type OutputSpec = {
  readonly type: 'oci';
  readonly dest: string;
  readonly tar: boolean;
  readonly name?: string;
};

/** Parses `--output type=oci,dest=PATH[,tar=false][,name=REF]` as docker build / buildx does. */
export function parseOutputSpec(text: string): OutputSpec {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0)
      throw new BuilderError('INVALID_OUTPUT', `invalid --output field "${part}": expected key=value`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type');
  if (type !== 'oci') {
    throw new BuilderError('INVALID_OUTPUT', `unsupported output type "${type ?? ''}"`, {
      hint: 'supported: type=oci',
    });
  }
  const dest = fields.get('dest');
  if (!dest) throw new BuilderError('INVALID_OUTPUT', 'output type=oci needs dest=PATH');
  const tar = fields.get('tar') ?? 'true';
  if (tar !== 'true' && tar !== 'false')
    throw new BuilderError('INVALID_OUTPUT', `tar=${tar}: expected true or false`);
  return { type, dest, tar: tar === 'true', name: fields.get('name') };
}
