import { splitWords } from './split-words.js';

const BLANKS = /[\t\v\f\r ]+/;

/** A node's arguments (README §1.4), or a message for the few errors this layer reports. */
export type NodeArgs =
  | { readonly ok: true; readonly args: string[]; readonly json: boolean; readonly subLine?: string }
  | { readonly ok: false; readonly message: string };

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

/**
 * BuildKit's per-keyword argument rules, applied to the text after the flags. ONBUILD returns
 * `subLine` for the caller to parse as an instruction of its own.
 */
export function parseNodeArgs(keyword: string, rest: string, escape: string): NodeArgs {
  switch (keyword.toLowerCase()) {
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell':
      return maybeJson(rest);
    case 'add':
    case 'copy':
    case 'volume': {
      const json = parseJson(rest);
      if (json === NOT_STRINGS) return { ok: false, message: NOT_STRINGS };
      return json ? { ok: true, args: json, json: true } : ok(blankSplit(rest));
    }
    case 'from':
    case 'expose':
      return ok(blankSplit(rest));
    case 'maintainer':
    case 'user':
    case 'workdir':
    case 'stopsignal':
      return ok(rest === '' ? [] : [rest]);
    case 'arg':
      return ok(splitWords(rest, escape));
    case 'env':
    case 'label':
      return nameValues(rest, keyword.toUpperCase(), escape);
    case 'healthcheck':
      return healthcheck(rest);
    case 'onbuild':
      return rest === '' ? ok([]) : { ok: true, args: [], json: false, subLine: rest };
    default:
      return ok(['']);
  }
}

function ok(args: string[]): NodeArgs {
  return { ok: true, args, json: false };
}

function blankSplit(rest: string): string[] {
  return rest === '' ? [] : rest.split(BLANKS);
}

/** The parsed array; undefined when the text is not a JSON array; NOT_STRINGS when it has other values. */
function parseJson(rest: string): string[] | typeof NOT_STRINGS | undefined {
  const t = rest.trimStart();
  if (!t.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const strings: string[] = [];
  for (const v of value as unknown[]) {
    if (typeof v !== 'string') return NOT_STRINGS;
    strings.push(v);
  }
  return strings;
}

function maybeJson(rest: string): NodeArgs {
  if (rest === '') return ok([]);
  const json = parseJson(rest);
  if (json === NOT_STRINGS) return { ok: false, message: NOT_STRINGS };
  return json ? { ok: true, args: json, json: true } : ok([rest]);
}

function healthcheck(rest: string): NodeArgs {
  const m = /^(\S+)\s*/u.exec(rest);
  if (!m) return ok([]);
  const sub = maybeJson(rest.slice(m[0].length));
  if (!sub.ok) return sub;
  return { ok: true, args: [m[1] as string, ...sub.args], json: sub.json };
}

function nameValues(rest: string, keyword: string, escape: string): NodeArgs {
  const words = splitWords(rest, escape);
  const first = words[0];
  if (first === undefined) return ok([]);
  if (!first.includes('=')) {
    const m = BLANKS.exec(rest);
    if (!m) return { ok: false, message: `${keyword} must have two arguments` };
    return ok([rest.slice(0, m.index), rest.slice(m.index + m[0].length), '']);
  }
  const args: string[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) {
      return {
        ok: false,
        message: `Syntax error - can't find = in "${w}". Must be of the form: name=value`,
      };
    }
    args.push(w.slice(0, eq), w.slice(eq + 1), '=');
  }
  return ok(args);
}
