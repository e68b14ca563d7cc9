import { InstructionSyntaxError } from './instruction-syntax-error.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

/**
 * One `RUN --mount=` spec. Values are kept as written (they may hold `$VARS` the builder
 * expands); numbers are checked only when they hold no `$`.
 */
export interface Mount {
  readonly type: MountType;
  /** Where it appears in the container (`target`, `dst`, `destination`). */
  readonly target?: string;
  /** Path in the source (`source`, `src`). */
  readonly source?: string;
  /** Stage or image the source comes from. */
  readonly from?: string;
  readonly readOnly: boolean;
  /** Cache, secret or ssh id. */
  readonly id?: string;
  readonly sharing?: 'shared' | 'private' | 'locked';
  readonly mode?: string;
  readonly uid?: string;
  readonly gid?: string;
  /** Secret/ssh: fail when it is not provided. */
  readonly required?: boolean;
  /** tmpfs size. */
  readonly size?: string;
  /** Secret: expose as this environment variable. */
  readonly env?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const TYPES: readonly string[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const BOOLS = new Set(['true', 'false', '1', '0']);

/** Parses a mount spec (`type=cache,target=/root/.cache,sharing=locked`) as BuildKit does. */
export function parseMount(spec: string): Mount {
  const fields = splitCsv(spec);
  const typeField = fields.find((f) => f.toLowerCase().startsWith('type='));
  const type = (typeField?.slice(5).toLowerCase() ?? 'bind') as MountType;
  if (!TYPES.includes(type)) {
    throw bad(`unsupported mount type "${type}"`, 'use bind, cache, tmpfs, secret or ssh');
  }
  const m: Mutable<Mount> = { type, readOnly: type === 'bind' };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => {
      if (value === undefined) throw bad(`mount option "${key}" needs a value`);
      return value;
    };
    const flag = (): boolean => {
      if (value === undefined) return true;
      if (!BOOLS.has(value.toLowerCase())) throw bad(`invalid value for ${key}: ${value}`);
      return value === '1' || value.toLowerCase() === 'true';
    };
    switch (key) {
      case 'type':
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = need();
        break;
      case 'source':
      case 'src':
        m.source = need();
        break;
      case 'from':
        m.from = need();
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = flag();
        break;
      case 'readwrite':
      case 'rw':
        m.readOnly = !flag();
        break;
      case 'id':
        m.id = need();
        break;
      case 'sharing': {
        const v = need().toLowerCase();
        if (v !== 'shared' && v !== 'private' && v !== 'locked') {
          throw bad(`unsupported sharing value "${v}"`, 'use shared, private or locked');
        }
        m.sharing = v;
        break;
      }
      case 'mode':
        m.mode = number(key, need(), 8);
        break;
      case 'uid':
      case 'gid':
        m[key] = number(key, need(), 10);
        break;
      case 'required':
        m.required = flag();
        break;
      case 'size':
        m.size = need();
        break;
      case 'env':
        m.env = need();
        break;
      default:
        throw bad(`unexpected key '${key}' in '${field}'`);
    }
  }
  if ((type === 'bind' || type === 'cache' || type === 'tmpfs') && !m.target) {
    throw bad(`mount type=${type} needs a target`, 'add target=<path in the container>');
  }
  return m;
}

function number(key: string, value: string, radix: 8 | 10): string {
  if (!value.includes('$') && !(radix === 8 ? /^[0-7]+$/ : /^\d+$/).test(value)) {
    throw bad(`invalid ${key} "${value}"`);
  }
  return value;
}

function bad(message: string, hint?: string): InstructionSyntaxError {
  return new InstructionSyntaxError(`--mount: ${message}`, 'DOCKERFILE_BAD_FLAG', hint ? { hint } : {});
}

/** CSV as Go's encoding/csv reads one record: `,` separates, `"..."` quotes a field. */
function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw bad('unterminated quote in mount spec');
  fields.push(field);
  return fields.filter((f) => f !== '');
}
