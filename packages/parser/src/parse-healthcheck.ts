import type { DockerfileNode } from './dockerfile-node.js';
import { InstructionSyntaxError } from './instruction-syntax-error.js';
import type { CommandForm, Healthcheck } from './instructions.js';
import { parseDuration } from './parse-duration.js';
import { parseFlags } from './parse-flags.js';

const FLAGS = {
  interval: 'string',
  timeout: 'string',
  'start-period': 'string',
  'start-interval': 'string',
  retries: 'string',
} as const;

/** HEALTHCHECK NONE | HEALTHCHECK [--interval ... --retries] CMD command, as BuildKit checks it. */
export function parseHealthcheck(
  node: DockerfileNode,
  base: Pick<Healthcheck, 'range' | 'source'>,
): Healthcheck {
  const [type, ...rest] = node.args;
  if (type === undefined) {
    throw new InstructionSyntaxError(
      'HEALTHCHECK requires at least one argument',
      'DOCKERFILE_MISSING_ARGUMENTS',
      {
        hint: 'write HEALTHCHECK NONE or HEALTHCHECK [options] CMD <command>',
      },
    );
  }
  const upper = type.toUpperCase();
  if (upper === 'NONE') {
    if (rest.length > 0) throw new InstructionSyntaxError('HEALTHCHECK NONE takes no arguments');
    return { ...base, kind: 'healthcheck', test: { type: 'none' } };
  }
  const flags = parseFlags('HEALTHCHECK', node.flags, FLAGS);
  if (upper !== 'CMD') {
    throw new InstructionSyntaxError(`Unknown type "${type}" in HEALTHCHECK (try CMD)`, 'DOCKERFILE_SYNTAX', {
      hint: 'write HEALTHCHECK NONE or HEALTHCHECK [options] CMD <command>',
    });
  }
  const command: CommandForm | undefined = node.json
    ? { form: 'exec', args: rest }
    : rest[0]
      ? { form: 'shell', text: rest[0] }
      : undefined;
  if (!command || (command.form === 'exec' && command.args.length === 0)) {
    throw new InstructionSyntaxError('Missing command after HEALTHCHECK CMD', 'DOCKERFILE_MISSING_ARGUMENTS');
  }
  const duration = (name: keyof typeof FLAGS): number | undefined => {
    const text = flags.string.get(name);
    if (text === undefined) return undefined;
    const ns = parseDuration(text);
    if (ns === undefined) {
      throw new InstructionSyntaxError(`invalid duration "${text}" for --${name}`, 'DOCKERFILE_BAD_FLAG', {
        hint: 'use a Go duration such as 30s, 1m30s or 500ms',
      });
    }
    if (ns !== 0 && ns < 1e6) {
      throw new InstructionSyntaxError(`--${name} cannot be less than 1ms`, 'DOCKERFILE_BAD_FLAG');
    }
    return ns;
  };
  const retriesText = flags.string.get('retries');
  if (retriesText !== undefined && !/^\+?\d+$/.test(retriesText)) {
    throw new InstructionSyntaxError(
      `--retries must be a non-negative integer, not "${retriesText}"`,
      'DOCKERFILE_BAD_FLAG',
    );
  }
  const optional = {
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries: retriesText === undefined ? undefined : Number(retriesText),
  };
  const defined = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined));
  return { ...base, kind: 'healthcheck', test: { type: 'cmd', command }, ...defined };
}
