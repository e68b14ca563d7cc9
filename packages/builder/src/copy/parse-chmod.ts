/** How `--chmod` changes a mode: given the entry's mode and whether it is a directory. */
export type ChmodFn = (mode: number, isDir: boolean) => number;

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o0007, a: 0o6777 };

/**
 * Parses `--chmod`: octal (`755`, `0644`) or symbolic clauses as chmod(1) takes them
 * (`u+x,g-w,o=r`, `a+rX`, `+x`); `X` adds execute only to directories and files that already
 * have an execute bit. Undefined when the spec is not valid.
 */
export function parseChmod(spec: string): ChmodFn | undefined {
  if (/^[0-7]{3,4}$/.test(spec)) {
    const mode = parseInt(spec, 8);
    return () => mode;
  }
  const clauses = spec.split(',');
  const parsed: { who: number; op: string; perms: string }[] = [];
  for (const clause of clauses) {
    const m = /^([ugoa]*)([+=-])([rwxXst]*)$/.exec(clause);
    if (!m) return undefined;
    const who = [...(m[1] || 'a')].reduce((bits, c) => bits | (WHO[c] ?? 0), 0);
    parsed.push({ who, op: m[2] as string, perms: m[3] as string });
  }
  return (mode, isDir) => {
    let out = mode & 0o7777;
    for (const { who, op, perms } of parsed) {
      const hasExec = isDir || (out & 0o111) !== 0;
      let bits = 0;
      for (const p of perms) {
        if (p === 'r') bits |= 0o444;
        else if (p === 'w') bits |= 0o222;
        else if (p === 'x' || (p === 'X' && hasExec)) bits |= 0o111;
        else if (p === 's') bits |= 0o6000;
        else if (p === 't') bits |= 0o1000;
      }
      bits &= who;
      if (op === '+') out |= bits;
      else if (op === '-') out &= ~bits;
      else out = (out & ~(who & 0o7777)) | bits;
    }
    return out & 0o7777;
  };
}
