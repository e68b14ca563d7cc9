import { readFileSync } from 'node:fs';
import { BuilderError } from '../builder-error.js';
import { givenTooOften } from './global-options.js';
import type { MountRequest, RunOptions } from '../containers/container-settings.js';

/** `kiln run`'s own flags besides `RunOptions`. */
export interface RunArgs {
  readonly options: RunOptions;
  readonly interactive: boolean;
  /** Seconds between forwarding a signal and escalating (`--stop-timeout`, default 10). */
  readonly stopTimeout: number;
  /** `--root` given after `run`. */
  readonly root?: string;
  readonly help: boolean;
}

export const RUN_USAGE = `Usage: kiln run [OPTIONS] IMAGE [COMMAND [ARG...]]

Create and run a container from an image (docker run semantics).

Options:
      --rm                 remove the container (and its anonymous volumes) when it exits
  -e, --env K[=V]          set an environment variable (K alone: take it from kiln's environment)
      --env-file FILE      read K=V lines (blank lines and # comments skipped)
  -v, --volume SRC:DST[:ro|rw]  bind a host path (made when missing) or a named volume; DST alone: anonymous volume
      --mount SPEC         type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=N]
  -u, --user USER[:GROUP]  name or id, resolved in the image
  -w, --workdir DIR        working directory in the container
  -h, --hostname NAME      container hostname (default: the short id)
      --network host|none  network namespace (default host)
      --entrypoint CMD     replace the image's ENTRYPOINT (also drops its CMD)
      --name NAME          name the container
  -i, --interactive        keep stdin open
  -t, --tty                allocate a pseudo-terminal
      --stop-signal SIG    signal after the grace period (default: the image's STOPSIGNAL, else SIGTERM)
      --stop-timeout SECS  grace period before escalating a forwarded signal (default 10)
`;

type Flag =
  | 'rm'
  | 'i'
  | 't'
  | 'help'
  | 'e'
  | 'env-file'
  | 'v'
  | 'mount'
  | 'u'
  | 'w'
  | 'h'
  | 'network'
  | 'entrypoint'
  | 'name'
  | 'stop-signal'
  | 'stop-timeout'
  | 'root';

const BOOLEAN: ReadonlySet<Flag> = new Set(['rm', 'i', 't', 'help']);
const NAMES: Readonly<Record<string, Flag>> = {
  '--rm': 'rm',
  '-i': 'i',
  '--interactive': 'i',
  '-t': 't',
  '--tty': 't',
  '--help': 'help',
  '-e': 'e',
  '--env': 'e',
  '--env-file': 'env-file',
  '-v': 'v',
  '--volume': 'v',
  '--mount': 'mount',
  '-u': 'u',
  '--user': 'u',
  '-w': 'w',
  '--workdir': 'w',
  '-h': 'h',
  '--hostname': 'h',
  '--network': 'network',
  '--net': 'network',
  '--entrypoint': 'entrypoint',
  '--name': 'name',
  '--stop-signal': 'stop-signal',
  '--stop-timeout': 'stop-timeout',
  '--root': 'root',
};

/**
 * Parses what follows `kiln run`: options up to IMAGE (the first non-option, or what follows
 * `--`), everything after IMAGE is the container's command, untouched. Short booleans combine
 * (`-it`); values come as `-e X`, `-eX`, `--env X` or `--env=X`. `host` is kiln's environment
 * (for `-e K`) and `readFile` reads `--env-file`s. Throws `INVALID_ARGUMENT`.
 */
export function parseRunArgs(
  tokens: readonly string[],
  host: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): RunArgs {
  const bools = new Set<Flag>();
  const values = new Map<Flag, string[]>();
  let i = 0;
  const take = (flag: Flag, inline: string | undefined, shown: string): void => {
    let value = inline;
    if (value === undefined) {
      value = tokens[++i];
      if (value === undefined) throw invalid(`flag ${shown} needs a value`);
    }
    values.set(flag, [...(values.get(flag) ?? []), value]);
  };
  for (; i < tokens.length; i++) {
    const tok = tokens[i] ?? '';
    if (tok === '--') {
      i++;
      break;
    }
    if (!tok.startsWith('-') || tok === '-') break;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const key = eq < 0 ? tok : tok.slice(0, eq);
      const flag = NAMES[key];
      if (flag === undefined) throw invalid(`unknown flag: ${key}`);
      if (BOOLEAN.has(flag)) bools.add(flag);
      else take(flag, eq < 0 ? undefined : tok.slice(eq + 1), key);
      continue;
    }
    // -itw /dir, -eK=V: booleans first, then at most one flag with a value (the rest of the token).
    for (let j = 1; j < tok.length; j++) {
      const flag = NAMES[`-${tok[j]}`];
      if (flag === undefined) throw invalid(`unknown shorthand flag: '${tok[j]}' in ${tok}`);
      if (BOOLEAN.has(flag)) {
        bools.add(flag);
        continue;
      }
      take(flag, j + 1 < tok.length ? tok.slice(j + 1) : undefined, `-${tok[j]}`);
      break;
    }
  }
  const help = bools.has('help');
  const image = tokens[i];
  if (image === undefined && !help) throw invalid('"kiln run" requires at least 1 argument (IMAGE)');
  const list = (f: Flag): string[] => values.get(f) ?? [];
  const last = (f: Flag): string | undefined => list(f).at(-1);

  const env: string[] = [];
  for (const file of list('env-file')) env.push(...parseEnvFile(readFile(file), host));
  for (const e of list('e')) env.push(...envEntry(e, host));
  const network = last('network') ?? 'host';
  if (network !== 'host' && network !== 'none')
    throw invalid(`unsupported --network "${network}" (host or none)`);
  const timeout = Number(last('stop-timeout') ?? '10');
  if (!Number.isFinite(timeout) || timeout < 0)
    throw invalid(`invalid --stop-timeout "${last('stop-timeout')}"`);
  const options: RunOptions = {
    image: image ?? '',
    command: tokens.slice(i + 1),
    env,
    network,
    tty: bools.has('t'),
    autoRemove: bools.has('rm'),
    mounts: [...list('v').map(parseVolumeFlag), ...list('mount').map(parseMountFlag)],
    ...optional('entrypoint', last('entrypoint')),
    ...optional('user', last('u')),
    ...optional('workdir', last('w')),
    ...optional('hostname', last('h')),
    ...optional('name', last('name')),
    ...optional('stopSignal', last('stop-signal')),
  };
  // As the global --root (global-options.ts): the store is not a flag whose last one wins.
  const roots = list('root');
  if (roots.length > 1) throw invalid(givenTooOften('--root', roots.length));
  if (roots[0] === '') throw invalid('--root needs a path');
  return {
    options,
    interactive: bools.has('i'),
    stopTimeout: timeout,
    help,
    ...optional('root', roots[0]),
  };
}

/** `--env-file`: `K=V` lines, `K` alone taken from `host`, blank lines and `#` comments skipped. */
export function parseEnvFile(text: string, host: NodeJS.ProcessEnv): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s+/, ''))
    .filter((l) => l !== '' && !l.startsWith('#'))
    .flatMap((l) => envEntry(l, host));
}

function envEntry(e: string, host: NodeJS.ProcessEnv): string[] {
  const eq = e.indexOf('=');
  if (eq === 0) throw invalid(`invalid environment variable "${e}"`);
  if (eq > 0) return [e];
  const value = host[e];
  return value === undefined ? [] : [`${e}=${value}`];
}

/** `-v SRC:DST[:ro|rw]` (SRC a path or a volume name) or `-v DST` (anonymous volume). */
export function parseVolumeFlag(spec: string): MountRequest {
  const parts = spec.split(':');
  let mode = 'rw';
  if (
    parts.length === 3 ||
    (parts.length === 2 && /^(ro|rw)$/.test(parts[1] ?? '') && !(parts[1] ?? '').startsWith('/'))
  ) {
    mode = parts.pop() ?? 'rw';
  }
  if (mode !== 'ro' && mode !== 'rw') throw invalid(`invalid mode "${mode}" in -v ${spec}`);
  const readonly = mode === 'ro';
  if (parts.length === 1) return { type: 'volume', target: parts[0] ?? '', readonly };
  const [source = '', target = ''] = parts;
  if (parts.length !== 2 || source === '' || target === '')
    throw invalid(`invalid -v "${spec}": expected SRC:DST[:ro]`);
  if (source.startsWith('/') || source.startsWith('.'))
    return { type: 'bind', source, target, readonly, create: true };
  return { type: 'volume', name: source, target, readonly };
}

/** `--mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=N]` (src/dst/destination/ro accepted). */
export function parseMountFlag(spec: string): MountRequest {
  const fields = new Map<string, string>();
  for (const f of spec.split(',')) {
    const eq = f.indexOf('=');
    fields.set(eq < 0 ? f : f.slice(0, eq), eq < 0 ? 'true' : f.slice(eq + 1));
  }
  const get = (...keys: string[]): string | undefined =>
    keys.map((k) => fields.get(k)).find((v) => v !== undefined);
  const target = get('target', 'dst', 'destination');
  if (target === undefined) throw invalid(`--mount ${spec}: target is required`);
  const ro = get('readonly', 'ro');
  const readonly = ro !== undefined && ro !== 'false' && ro !== '0';
  const source = get('source', 'src');
  switch (get('type') ?? 'volume') {
    case 'bind':
      if (source === undefined) throw invalid(`--mount ${spec}: a bind mount needs a source`);
      return { type: 'bind', source, target, readonly, create: false };
    case 'volume':
      return source === undefined
        ? { type: 'volume', target, readonly }
        : { type: 'volume', name: source, target, readonly };
    case 'tmpfs': {
      const size = get('tmpfs-size');
      if (size !== undefined && !/^\d+$/.test(size))
        throw invalid(`--mount ${spec}: tmpfs-size must be a number of bytes`);
      return size === undefined ? { type: 'tmpfs', target } : { type: 'tmpfs', target, size: Number(size) };
    }
    default:
      throw invalid(`--mount ${spec}: type must be bind, volume or tmpfs`);
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function invalid(message: string): BuilderError {
  return new BuilderError('INVALID_ARGUMENT', message, { hint: "see 'kiln run --help'" });
}
