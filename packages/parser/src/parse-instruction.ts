import type { CommandForm, Instruction, KeyValue } from './instructions.js';
import type { SourceRange } from './source-range.js';
import { parseFlags, type ParsedFlags } from './parse-flags.js';
import { parseJsonArray } from './parse-json-array.js';
import { splitWords } from './split-words.js';

/** A problem in one instruction's arguments; parseDockerfile positions it. */
export class InstructionSyntaxError extends Error {
  constructor(
    message: string,
    readonly code:
      'DOCKERFILE_SYNTAX' | 'DOCKERFILE_MISSING_ARGUMENTS' | 'DOCKERFILE_BAD_FLAG' = 'DOCKERFILE_SYNTAX',
  ) {
    super(message);
  }
}

interface Context {
  readonly keyword: string;
  readonly args: string;
  readonly escape: string;
  readonly base: { readonly range: SourceRange; readonly source: string };
}

type Builder = (c: Context) => Instruction;

const builders: Readonly<Record<string, Builder>> = {
  FROM: (c) => {
    const { flags, rest } = flagsOf(c, ['platform']);
    const [image, as, stageName, ...extra] = rest;
    if (!image) throw missing(c);
    if (as !== undefined && (as.toUpperCase() !== 'AS' || !stageName || extra.length > 0)) {
      throw new InstructionSyntaxError(
        'FROM requires either one or three arguments: FROM <image> [AS <name>]',
      );
    }
    return {
      ...c.base,
      kind: 'from',
      image,
      stageName: stageName?.toLowerCase(),
      platform: flags.get('platform')?.[0],
    };
  },
  RUN: (c) => {
    const { flags, restText } = leadingFlags(c, ['network', 'mount', 'security']);
    if (flags.has('mount') || flags.has('security')) {
      throw new InstructionSyntaxError(
        'RUN --mount and --security are not supported yet',
        'DOCKERFILE_BAD_FLAG',
      );
    }
    return { ...c.base, kind: 'run', command: commandForm(c, restText), network: flags.get('network')?.[0] };
  },
  CMD: (c) => ({ ...c.base, kind: 'cmd', command: commandForm(c, c.args) }),
  ENTRYPOINT: (c) => ({ ...c.base, kind: 'entrypoint', command: commandForm(c, c.args) }),
  COPY: (c) => copyLike(c, 'copy'),
  ADD: (c) => copyLike(c, 'add'),
  ENV: (c) => ({ ...c.base, kind: 'env', pairs: keyValues(c, true) }),
  LABEL: (c) => ({ ...c.base, kind: 'label', pairs: keyValues(c, false) }),
  ARG: (c) => {
    const words = words_(c);
    if (words.length === 0) throw missing(c);
    const args = words.map((w) => {
      const eq = w.indexOf('=');
      return eq < 0 ? { name: w } : { name: w.slice(0, eq), defaultValue: w.slice(eq + 1) };
    });
    return { ...c.base, kind: 'arg', args };
  },
  WORKDIR: (c) => single(c, 'workdir'),
  USER: (c) => single(c, 'user'),
  STOPSIGNAL: (c) => single(c, 'stopsignal'),
  MAINTAINER: (c) => single(c, 'maintainer'),
  SHELL: (c) => {
    const args = parseJsonArray(c.args);
    if (!args || args.length === 0)
      throw new InstructionSyntaxError('SHELL requires the arguments to be in JSON form');
    return { ...c.base, kind: 'shell', args };
  },
  EXPOSE: (c) => ({ ...c.base, kind: 'expose', values: nonEmpty(c, words_(c)) }),
  VOLUME: (c) => ({ ...c.base, kind: 'volume', values: nonEmpty(c, parseJsonArray(c.args) ?? words_(c)) }),
  HEALTHCHECK: (c) => ({ ...c.base, kind: 'healthcheck', args: nonEmptyText(c) }),
  ONBUILD: (c) => ({ ...c.base, kind: 'onbuild', args: nonEmptyText(c) }),
};

/** Keywords kiln knows, in upper case. */
export const KEYWORDS: readonly string[] = Object.keys(builders);

/** Gives one instruction its typed meaning; undefined for an unknown keyword. */
export function parseInstruction(c: Context): Instruction | undefined {
  return builders[c.keyword]?.(c);
}

function words_(c: Context): string[] {
  try {
    return splitWords(c.args, c.escape);
  } catch (err) {
    throw new InstructionSyntaxError(err instanceof Error ? err.message : String(err));
  }
}

function missing(c: Context): InstructionSyntaxError {
  return new InstructionSyntaxError(
    `${c.keyword} requires at least one argument`,
    'DOCKERFILE_MISSING_ARGUMENTS',
  );
}

function nonEmpty<T>(c: Context, values: T[]): T[] {
  if (values.length === 0) throw missing(c);
  return values;
}

function nonEmptyText(c: Context): string {
  if (!c.args) throw missing(c);
  return c.args;
}

function single(c: Context, kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer'): Instruction {
  return { ...c.base, kind, value: nonEmptyText(c) };
}

function flagsOf(c: Context, allowed: readonly string[]): ParsedFlags {
  const parsed = parseFlags(words_(c));
  for (const name of parsed.flags.keys()) {
    if (!allowed.includes(name)) {
      throw new InstructionSyntaxError(`unknown flag: --${name} for ${c.keyword}`, 'DOCKERFILE_BAD_FLAG');
    }
  }
  return parsed;
}

/** Flags, and the text after them kept verbatim (a shell command must not be re-spaced). */
function leadingFlags(
  c: Context,
  allowed: readonly string[],
): { flags: ParsedFlags['flags']; restText: string } {
  const { flags } = flagsOf(c, allowed);
  let text = c.args;
  const flagRe = /^--[A-Za-z-]+(=("[^"]*"|'[^']*'|\S)*)?\s*/;
  for (let m = flagRe.exec(text); m && m[0].startsWith('--'); m = flagRe.exec(text))
    text = text.slice(m[0].length);
  return { flags, restText: text };
}

function commandForm(c: Context, text: string): CommandForm {
  if (!text.trim()) throw missing(c);
  const args = parseJsonArray(text);
  return args ? { form: 'exec', args } : { form: 'shell', text };
}

function copyLike(c: Context, kind: 'copy' | 'add'): Instruction {
  const { flags, rest } = flagsOf(c, ['from', 'chown', 'chmod']);
  const json = parseJsonArray(c.args.replace(/^(--\S+\s+)*/, ''));
  const paths = json ?? rest;
  if (paths.length < 2) {
    throw new InstructionSyntaxError(
      `${c.keyword} requires at least two arguments, but got ${paths.length}`,
      'DOCKERFILE_MISSING_ARGUMENTS',
    );
  }
  return {
    ...c.base,
    kind,
    sources: paths.slice(0, -1),
    dest: paths[paths.length - 1] as string,
    from: flags.get('from')?.[0],
    chown: flags.get('chown')?.[0],
    chmod: flags.get('chmod')?.[0],
  };
}

/** ENV/LABEL: `K=V K2="V 2"`, or the legacy `ENV K some value` form (ENV only). */
function keyValues(c: Context, legacyAllowed: boolean): KeyValue[] {
  const words = words_(c);
  if (words.length === 0) throw missing(c);
  const first = words[0] as string;
  if (!first.includes('=')) {
    if (!legacyAllowed || words.length < 2) {
      throw new InstructionSyntaxError(
        `${c.keyword} must have two arguments`,
        'DOCKERFILE_MISSING_ARGUMENTS',
      );
    }
    return [{ key: first, value: c.args.slice(c.args.indexOf(first) + first.length).trim() }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InstructionSyntaxError(`${c.keyword} names can not be blank: "${w}"`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}
