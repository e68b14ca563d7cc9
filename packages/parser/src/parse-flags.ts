/** Leading `--name=value` / `--name` flags of an instruction, and the words after them. */
export interface ParsedFlags {
  readonly flags: ReadonlyMap<string, string[]>;
  readonly rest: string[];
}

/** Takes flags from the front of `words` until the first word that is not a flag. */
export function parseFlags(words: readonly string[]): ParsedFlags {
  const flags = new Map<string, string[]>();
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i] as string;
    if (!w.startsWith('--')) break;
    if (w === '--') {
      i++;
      break;
    }
    const eq = w.indexOf('=');
    const name = eq < 0 ? w.slice(2) : w.slice(2, eq);
    const value = eq < 0 ? '' : unquote(w.slice(eq + 1));
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, rest: words.slice(i) };
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
    return v.slice(1, -1);
  }
  return v;
}
