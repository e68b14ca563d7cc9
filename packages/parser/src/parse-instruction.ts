import type { DockerfileWarningCode } from './dockerfile-error.js';
import type { DockerfileNode } from './dockerfile-node.js';
import { parseHeredoc } from './find-heredocs.js';
import { InstructionSyntaxError } from './instruction-syntax-error.js';
import type { CommandForm, Copy, Instruction, KeyValue } from './instructions.js';
import { parseFlags, type FlagType, type ParsedFlags } from './parse-flags.js';
import { parseHealthcheck } from './parse-healthcheck.js';
import { parseMount } from './parse-mount.js';
import { ShellWord } from './shell-word.js';

/** What one instruction's parse needs, and where it reports warnings. */
export interface InstructionContext {
  readonly node: DockerfileNode;
  readonly escape: string;
  readonly warn: (code: DockerfileWarningCode, message: string) => void;
}

interface Context extends InstructionContext {
  /** The keyword in upper case. */
  readonly keyword: string;
  readonly base: { readonly range: DockerfileNode['range']; readonly source: string };
}

type Builder = (c: Context) => Instruction;
const NO_FLAGS: Readonly<Record<string, FlagType>> = {};
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

const builders: Readonly<Record<string, Builder>> = {
  FROM: (c) => {
    const flags = flagsOf(c, { platform: 'string' });
    const [image, as, stageName, ...extra] = c.node.args;
    if (!image) throw missing(c);
    if (as !== undefined && (as.toUpperCase() !== 'AS' || !stageName || extra.length > 0)) {
      throw new InstructionSyntaxError(
        'FROM requires either one or three arguments: FROM <image> [AS <name>]',
        'DOCKERFILE_SYNTAX',
        { hint: 'write FROM <image> or FROM <image> AS <name>' },
      );
    }
    checkWords(c, [image, flags.string.get('platform')]);
    if (as && stageName) checkStageName(c, as, stageName);
    return {
      ...c.base,
      kind: 'from',
      image,
      stageName: stageName?.toLowerCase(),
      platform: flags.string.get('platform'),
    };
  },
  RUN: (c) => {
    const flags = flagsOf(c, { mount: 'strings', network: 'string', security: 'string' });
    const network = oneOf(flags, 'network', ['default', 'none', 'host'] as const);
    const security = oneOf(flags, 'security', ['sandbox', 'insecure'] as const);
    const mounts = (flags.strings.get('mount') ?? []).map(parseMount);
    return {
      ...c.base,
      kind: 'run',
      command: commandForm(c),
      network,
      security,
      mounts,
      heredocs: c.node.heredocs,
    };
  },
  CMD: (c) => cmdLike(c, 'cmd'),
  ENTRYPOINT: (c) => cmdLike(c, 'entrypoint'),
  COPY: (c) => copyLike(c, 'copy'),
  ADD: (c) => copyLike(c, 'add'),
  ENV: (c) => ({ ...c.base, kind: 'env', pairs: keyValues(c) }),
  LABEL: (c) => ({ ...c.base, kind: 'label', pairs: keyValues(c) }),
  ARG: (c) => {
    flagsOf(c, NO_FLAGS);
    if (c.node.args.length === 0) throw missing(c, 'write ARG <name>[=<default value>]');
    const args = c.node.args.map((w) => {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      if (name === '') {
        throw new InstructionSyntaxError(`ARG names can not be blank: "${w}"`, 'DOCKERFILE_SYNTAX', {
          hint: 'write ARG <name>[=<default value>]',
        });
      }
      if (eq < 0) return { name };
      const defaultValue = w.slice(eq + 1);
      checkWords(c, [defaultValue]);
      return { name, defaultValue };
    });
    return { ...c.base, kind: 'arg', args };
  },
  WORKDIR: (c) => single(c, 'workdir'),
  USER: (c) => single(c, 'user'),
  STOPSIGNAL: (c) => single(c, 'stopsignal'),
  MAINTAINER: (c) => {
    c.warn('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label');
    return single(c, 'maintainer');
  },
  SHELL: (c) => {
    flagsOf(c, NO_FLAGS);
    if (!c.node.json || c.node.args.length === 0) {
      throw new InstructionSyntaxError(
        'SHELL requires the arguments to be in JSON form',
        'DOCKERFILE_SYNTAX',
        {
          hint: 'write SHELL ["executable", "parameters"]',
        },
      );
    }
    return { ...c.base, kind: 'shell', args: c.node.args };
  },
  EXPOSE: (c) => wordList(c, 'expose'),
  VOLUME: (c) => wordList(c, 'volume'),
  HEALTHCHECK: (c) => parseHealthcheck(c.node, c.base),
  ONBUILD: (c) => {
    flagsOf(c, NO_FLAGS);
    const trigger = c.node.trigger;
    if (!trigger) throw missing(c, 'write ONBUILD <instruction>');
    const keyword = trigger.keyword.toUpperCase();
    if (keyword === 'ONBUILD' || keyword === 'FROM' || keyword === 'MAINTAINER') {
      throw new InstructionSyntaxError(`${keyword} isn't allowed as an ONBUILD trigger`);
    }
    const parsed = parseInstruction({ ...c, node: trigger });
    if (!parsed) throw new InstructionSyntaxError(`unknown instruction "${trigger.keyword}" in ONBUILD`);
    return { ...c.base, kind: 'onbuild', trigger: parsed };
  },
};

/** Keywords kiln knows, in upper case. */
export const KEYWORDS: readonly string[] = Object.keys(builders);

/**
 * Gives one node its typed meaning; undefined for an unknown keyword. Throws
 * InstructionSyntaxError for the first problem found in the instruction.
 */
export function parseInstruction(c: InstructionContext): Instruction | undefined {
  const keyword = c.node.keyword.toUpperCase();
  return builders[keyword]?.({ ...c, keyword, base: { range: c.node.range, source: c.node.source } });
}

function missing(c: Context, hint?: string): InstructionSyntaxError {
  return new InstructionSyntaxError(
    `${c.keyword} requires at least one argument`,
    'DOCKERFILE_MISSING_ARGUMENTS',
    hint ? { hint } : {},
  );
}

function flagsOf(c: Context, spec: Readonly<Record<string, FlagType>>): ParsedFlags {
  return parseFlags(c.keyword, c.node.flags, spec);
}

function oneOf<T extends string>(flags: ParsedFlags, name: string, allowed: readonly T[]): T | undefined {
  const value = flags.string.get(name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InstructionSyntaxError(`unsupported value "${value}" for --${name}`, 'DOCKERFILE_BAD_FLAG', {
      hint: `use ${allowed.join(', ')}`,
    });
  }
  return value as T;
}

/**
 * Words the builder will expand must lex: an unterminated quote or a malformed `${...}` is
 * reported now, with the file position, rather than in the middle of a build.
 */
function checkWords(c: Context, words: readonly (string | undefined)[]): void {
  for (const w of words) {
    if (w === undefined) continue;
    try {
      new ShellWord(w, new Map(), c.escape, { skipUnset: true }).process();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const quotes = /quote/.test(message);
      throw new InstructionSyntaxError(
        `${message} in "${w}"`,
        quotes ? 'DOCKERFILE_BAD_QUOTES' : 'DOCKERFILE_BAD_SUBSTITUTION',
        { hint: quotes ? 'close the quote, or escape it' : 'check the ${...} syntax' },
      );
    }
  }
}

function checkStageName(c: Context, as: string, name: string): void {
  if (!STAGE_NAME.test(name.toLowerCase())) {
    throw new InstructionSyntaxError(
      `invalid name for build stage: "${name}", name can't start with a number or contain symbols`,
      'DOCKERFILE_SYNTAX',
    );
  }
  if (name !== name.toLowerCase()) c.warn('StageNameCasing', `Stage name '${name}' should be lowercase`);
  const from = c.node.keyword;
  const upper = (s: string): boolean => s === s.toUpperCase();
  const lower = (s: string): boolean => s === s.toLowerCase();
  if ((upper(from) && lower(as)) || (lower(from) && upper(as))) {
    c.warn('FromAsCasing', `'${as}' and '${from}' keywords' casing do not match`);
  }
}

function single(c: Context, kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer'): Instruction {
  flagsOf(c, NO_FLAGS);
  const value = c.node.args[0];
  if (!value) throw missing(c);
  if (kind !== 'maintainer') checkWords(c, [value]);
  return { ...c.base, kind, value };
}

function wordList(c: Context, kind: 'expose' | 'volume'): Instruction {
  flagsOf(c, NO_FLAGS);
  const values = c.node.args;
  if (values.length === 0) throw missing(c);
  if (values.some((v) => v === '')) {
    throw new InstructionSyntaxError(`${c.keyword} specified can not be an empty string`);
  }
  checkWords(c, values);
  return { ...c.base, kind, values };
}

function commandForm(c: Context): CommandForm {
  if (c.node.json) return { form: 'exec', args: c.node.args };
  const text = c.node.args[0];
  if (!text) throw missing(c);
  return { form: 'shell', text };
}

function cmdLike(c: Context, kind: 'cmd' | 'entrypoint'): Instruction {
  flagsOf(c, NO_FLAGS);
  const command = commandForm(c);
  if (command.form === 'shell') {
    c.warn(
      'JSONArgsRecommended',
      `JSON arguments recommended for ${c.keyword} to prevent unintended behavior related to OS signals`,
    );
  }
  return { ...c.base, kind, command };
}

const COPY_FLAGS: Readonly<Record<string, FlagType>> = {
  from: 'string',
  chown: 'string',
  chmod: 'string',
  link: 'bool',
  parents: 'bool',
  exclude: 'strings',
};
const ADD_FLAGS: Readonly<Record<string, FlagType>> = {
  chown: 'string',
  chmod: 'string',
  link: 'bool',
  exclude: 'strings',
  checksum: 'string',
  'keep-git-dir': 'bool',
  unpack: 'bool',
};

function copyLike(c: Context, kind: 'copy' | 'add'): Copy {
  const flags = flagsOf(c, kind === 'copy' ? COPY_FLAGS : ADD_FLAGS);
  const paths = c.node.args;
  if (paths.length < 2) {
    throw new InstructionSyntaxError(
      `${c.keyword} requires at least two arguments, but got ${paths.length}`,
      'DOCKERFILE_MISSING_ARGUMENTS',
      { hint: `write ${c.keyword} <source>... <destination>` },
    );
  }
  const dest = paths[paths.length - 1] as string;
  const heredocNames = new Set(c.node.heredocs.map((h) => h.name));
  if (!c.node.json && parseHeredocSafe(dest)) {
    throw new InstructionSyntaxError(`${c.keyword} cannot accept a heredoc as a destination`);
  }
  const sources = paths.slice(0, -1).filter((p) => {
    const h = c.node.json ? undefined : parseHeredocSafe(p);
    return !(h && heredocNames.has(h.name));
  });
  checkWords(c, [
    ...sources,
    dest,
    flags.string.get('from'),
    flags.string.get('chown'),
    flags.string.get('chmod'),
  ]);
  return {
    ...c.base,
    kind,
    sources,
    dest,
    from: flags.string.get('from'),
    chown: flags.string.get('chown'),
    chmod: flags.string.get('chmod'),
    link: flags.bool.get('link') ?? false,
    parents: flags.bool.get('parents') ?? false,
    exclude: flags.strings.get('exclude') ?? [],
    checksum: flags.string.get('checksum'),
    keepGitDir: flags.bool.get('keep-git-dir') ?? false,
    unpack: flags.bool.get('unpack'),
    heredocs: c.node.heredocs,
  };
}

function parseHeredocSafe(word: string): ReturnType<typeof parseHeredoc> {
  try {
    return parseHeredoc(word);
  } catch {
    return undefined;
  }
}

/** ENV/LABEL: the node's (key, value, separator) triples; keys must not be blank. */
function keyValues(c: Context): KeyValue[] {
  flagsOf(c, NO_FLAGS);
  const a = c.node.args;
  if (a.length === 0) throw missing(c, `write ${c.keyword} <key>=<value> ...`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i + 1 < a.length; i += 3) {
    const key = a[i] as string;
    const value = a[i + 1] as string;
    if (key === '') {
      throw new InstructionSyntaxError(`${c.keyword} names can not be blank`, 'DOCKERFILE_SYNTAX', {
        hint: `write ${c.keyword} <key>=<value>`,
      });
    }
    checkWords(c, [key, value]);
    pairs.push({ key, value });
  }
  return pairs;
}
